namespace YoloCore.Cpu;

/// The CPU backend's two tiers. Every op has a plain reference written as generic loops over
/// float32 and float64 (Ops/); float32 runs the tuned code in Fast/ (blocked GEMM, cache-tiled
/// convolution, vectorised passes) unless ReferenceOnly is in effect on the calling thread. Tests
/// compare the tiers op by op the way GPU parity compares CUDA with the CPU. Each op decides once,
/// on entry, so the worker threads it starts need not see the flag.
public sealed unsafe partial class CpuBackend
{
    [ThreadStatic] static bool referenceOnly;

    /// Until disposed, ops called from this thread run the plain reference in float32 too.
    public static IDisposable ReferenceOnly()
    {
        bool was = referenceOnly;
        referenceOnly = true;
        return new Restore(was);
    }

    sealed class Restore(bool was) : IDisposable
    {
        public void Dispose() => referenceOnly = was;
    }

    /// Whether an op on t takes the fast tier.
    internal static bool UseFast(Tensor t) => t.DType == DType.Float32 && !referenceOnly;
}
