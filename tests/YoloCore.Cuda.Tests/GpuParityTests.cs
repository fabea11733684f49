using YoloCore.Diagnostics;
using YoloCore.Native;

namespace YoloCore.Cuda.Tests;

/// Every op on the GPU against the CPU op on the same random inputs. On a machine without the CUDA
/// driver the test instead checks that asking for a CUDA tensor fails with a clear message naming
/// the missing library (it never passes vacuously).
public class GpuParityTests
{
    static bool HasGpu(out string? why)
    {
        why = null;
        if (!NativeLibraries.TryProbe(NativeLib.Cuda, out _, out var error)) { why = error; return false; }
        try { CudaDriver.Init(); return CudaDriver.DeviceGetCount() > 0; }
        catch (NativeCallException e) { why = e.Message; return false; }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    public void EveryOpMatchesTheCpu(DType dtype)
    {
        if (!HasGpu(out var why))
        {
            var e = Assert.ThrowsAny<Exception>(() => Tensor.Zeros(new Shape(2), DType.Float32, Device.Cuda(0)));
            Assert.True(e is DllNotFoundException || e.InnerException is DllNotFoundException || e.Message.Contains("CUDA") || e.InnerException?.Message.Contains("libcuda") == true,
                $"without a GPU, a CUDA tensor should fail with a clear message, got {e}");
            return;
        }
        var results = BackendParity.Run(Device.Cuda(0), dtype);
        var failed = results.Where(r => !r.Passed).Select(r => $"{r.Op}: output {r.OutputError:E2}, gradient {r.GradientError:E2} {r.Failure}").ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} ops differ from the CPU in {dtype.Name()}:\n{string.Join("\n", failed)}");
    }
}
