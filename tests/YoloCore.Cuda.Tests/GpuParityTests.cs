using YoloCore.Diagnostics;
using YoloCore.Native;

namespace YoloCore.Cuda.Tests;

/// Every op on the GPU against the CPU op on the same random inputs (skipped, with the reason, on
/// machines without a GPU), and the clean failure a CUDA device gives where there is none.
public class GpuParityTests
{
    internal static bool HasGpu(out string why)
    {
        why = "";
        if (!NativeLibraries.TryProbe(NativeLib.Cuda, out _, out var error)) { why = "no CUDA driver: " + error?.Split('\n')[0]; return false; }
        try
        {
            CudaDriver.Init();
            if (CudaDriver.DeviceGetCount() > 0) return true;
            why = "the CUDA driver reports no device";
            return false;
        }
        catch (NativeCallException e) { why = e.Message; return false; }
    }

    [SkippableTheory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    public void EveryOpMatchesTheCpu(DType dtype)
    {
        Skip.IfNot(HasGpu(out var why), $"needs an NVIDIA GPU ({why}); run `yolocore doctor --check` on a GPU machine");
        var results = BackendParity.Run(Device.Cuda(0), dtype);
        var failed = results.Where(r => !r.Passed).Select(r => $"{r.Op}: output {r.OutputError:E2}, gradient {r.GradientError:E2} {r.Failure}").ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} ops differ from the CPU in {dtype.Name()}:\n{string.Join("\n", failed)}");
    }

    [SkippableTheory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    public void TheOptimizerKernelsMatchTheCpu(DType gradType)
    {
        Skip.IfNot(HasGpu(out var why), $"needs an NVIDIA GPU ({why}); run `yolocore doctor --check` on a GPU machine");
        var failed = OptimizerParity.Run(Device.Cuda(0), gradType).Where(r => !r.Passed).Select(r => $"{r.Op}: {r.OutputError:E2} {r.Failure}").ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} optimizer kernels differ from the CPU:\n{string.Join("\n", failed)}");
    }

    [Fact]
    public void WithoutADriverACudaTensorFailsNamingTheLibrary()
    {
        if (HasGpu(out _)) return; // the parity tests cover machines with a GPU
        var e = Assert.ThrowsAny<DllNotFoundException>(() => Tensor.Zeros(new Shape(2), DType.Float32, Device.Cuda(0)));
        Assert.Contains("libcuda", e.Message);
    }
}
