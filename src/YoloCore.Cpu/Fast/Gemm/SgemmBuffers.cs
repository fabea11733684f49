// Per-thread, 64-byte aligned native scratch for packed panels and split-k partial sums.
// Allocated once per thread on first use and grown only when a larger size is asked for,
// so the GEMM hot path never allocates. The owning object frees the memory in its
// finalizer, so a thread-pool thread that retires does not leak its buffers. A lease
// marks the buffer busy: a re-entrant call on the same thread (a GEMM issued from inside
// another GEMM's parallel region) gets a temporary buffer instead of corrupting it.
using System;
using System.Runtime.InteropServices;

namespace YoloCore.Cpu;

internal sealed unsafe class SgemmBuffer
{
    [ThreadStatic] private static SgemmBuffer? t_pack;
    [ThreadStatic] private static SgemmBuffer? t_partial;

    private void* _ptr;
    private nuint _bytes;
    private bool _busy;

    /// Packing scratch of at least `floats` floats for the calling thread.
    public static Lease RentPack(long floats) => Rent(ref t_pack, floats);

    /// Split-k partial sums (separate from packing: the caller's partials outlive its packing).
    public static Lease RentPartial(long floats) => Rent(ref t_partial, floats);

    private static Lease Rent(ref SgemmBuffer? cached, long floats)
    {
        cached ??= new SgemmBuffer();
        SgemmBuffer owner = cached._busy ? new SgemmBuffer() : cached;
        owner._busy = true;
        return new Lease(owner, (float*)owner.Ensure(floats * sizeof(float)), temporary: owner != cached);
    }

    private void* Ensure(long bytes)
    {
        if ((nuint)bytes > _bytes)
        {
            Free();
            _ptr = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 64), 64);
            _bytes = (nuint)bytes;
        }
        return _ptr;
    }

    private void Free()
    {
        if (_ptr != null) NativeMemory.AlignedFree(_ptr);
        _ptr = null;
        _bytes = 0;
    }

    ~SgemmBuffer() => Free();

    public readonly ref struct Lease
    {
        private readonly SgemmBuffer _owner;
        private readonly bool _temporary;
        public readonly float* Ptr;

        public Lease(SgemmBuffer owner, float* ptr, bool temporary) { _owner = owner; Ptr = ptr; _temporary = temporary; }

        public void Dispose()
        {
            _owner._busy = false;
            if (_temporary) { _owner.Free(); GC.SuppressFinalize(_owner); }
        }
    }
}
