using YoloCore.Training;

namespace YoloCore.Cuda.Tests;

/// Mixed precision end to end: yolov5n trained 200 steps on coco128 at 320 on the GPU with AMP and
/// on the CPU in float32 from the same weights and batches. (`yolocore doctor --check --train-check`
/// runs the same comparison on a GPU machine without the SDK.)
public class MixedPrecisionTrainingTests
{
    static string Coco128() => Path.GetFullPath(Path.Combine(Repo.Root, "..", "shared", "datasets", "coco128.yaml"));

    [SkippableFact]
    public void AmpLossCurveFollowsTheFloat32Cpu()
    {
        Skip.IfNot(GpuParityTests.HasGpu(out var why), $"needs an NVIDIA GPU ({why})");
        var (rows, skipped) = TrainingParity.Run(Coco128(), "yolov5n", 320, 16, 200, Device.Cuda(0), amp: true);
        foreach (var r in rows.Where(r => r.Step % 20 == 0))
            Assert.True(r.RelativeDifference <= 0.05, $"step {r.Step}: GPU loss {r.DeviceLoss:F4}, CPU {r.ReferenceLoss:F4}");
        Assert.True(skipped <= 5, $"the loss scaler skipped {skipped} steps");
    }

    [Fact]
    public void TheComparisonIsExactWhenBothRunsAreTheSame()
    {
        // The harness itself: two float32 CPU runs from the same seed see the same batches and agree exactly.
        var (rows, skipped) = TrainingParity.Run(Coco128(), "yolov5n", 64, 4, 3, Device.Cpu, amp: false);
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(r.ReferenceLoss, r.DeviceLoss));
        Assert.Equal(0, skipped);
        Assert.True(rows.All(r => double.IsFinite(r.ReferenceLoss) && r.ReferenceLoss > 0));
    }
}
