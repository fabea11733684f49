// Per-thread, 64-byte aligned native scratch for packed panels and split-k partial sums.
// Allocated once per thread on first use and grown only when a larger size is asked for,
// so the GEMM hot path never allocates. The owning object frees the memory in its
// finalizer, so a thread-pool thread that retires does not leak its buffers.
using System.Runtime.InteropServices;

namespace YoloCore.Cpu;

internal sealed unsafe class SgemmBuffer
{
    [ThreadStatic] private static SgemmBuffer? t_pack;
    [ThreadStatic] private static SgemmBuffer? t_partial;

    private void* _ptr;
    private nuint _bytes;

    /// Packing scratch of at least `floats` floats for the calling thread.
    public static float* Pack(long floats) => (float*)(t_pack ??= new SgemmBuffer()).Ensure(floats * sizeof(float));

    /// Split-k partial-sum scratch of at least `floats` floats for the calling thread
    /// (separate from Pack because the caller's partials outlive its own packing).
    public static float* Partial(long floats) => (float*)(t_partial ??= new SgemmBuffer()).Ensure(floats * sizeof(float));

    private void* Ensure(long bytes)
    {
        if ((nuint)bytes > _bytes)
        {
            if (_ptr != null) NativeMemory.AlignedFree(_ptr);
            _ptr = null;
            _bytes = 0;
            _ptr = NativeMemory.AlignedAlloc((nuint)bytes, 64);
            _bytes = (nuint)bytes;
        }
        return _ptr;
    }

    ~SgemmBuffer()
    {
        if (_ptr != null) NativeMemory.AlignedFree(_ptr);
    }
}
