using YoloCore.Training;

namespace YoloCore.Cuda.Tests;

/// The training step captured as a CUDA graph against the eager step on the GPU (AMP): the same
/// eight steps (CapturedStepParity) with changing lr, momentum, targets and target capacity.
/// On the CPU the two agree to the bit (YoloCore.Tests' GraphCaptureTests); on the GPU the
/// loss's backward adds with atomics, so the last bits may move. `doctor --check` runs it too.
public class CapturedStepTests
{
    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)] // micro-batches that only accumulate, captured too
    public void TheCapturedStepFollowsTheEagerStepOnTheGpu(int accumulate)
    {
        Skip.IfNot(GpuParityTests.HasGpu(out var why), $"needs an NVIDIA GPU ({why})");
        var r = CapturedStepParity.Compare(Device.Cuda(0), amp: true, accumulate: accumulate);
        Assert.True(r.Captures >= 2 && r.Replays >= 4, $"{r.Captures} graphs, {r.Replays} replays");
        Assert.True(r.LossDifference <= 1e-3, $"loss differs by {r.LossDifference:E2}");
        Assert.True(r.StateDifference <= 1e-3, $"state differs by {r.StateDifference:E2}");
    }
}
