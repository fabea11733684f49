using System.Runtime.InteropServices;

namespace YoloCore.Cpu;

/// Host memory for a tensor: 64-byte aligned (one cache line, one AVX-512 register) native memory,
/// freed when the last tensor handle goes, not by the garbage collector.
internal sealed unsafe class CpuStorage : Storage
{
    public CpuStorage(long bytes) : base(Device.Cpu, bytes)
    {
        Pointer = NativeMemory.AlignedAlloc((nuint)bytes, 64);
        if (Pointer is null) throw new OutOfMemoryException($"could not allocate {bytes} bytes of host memory");
    }

    public void* Pointer { get; private set; }

    protected override void Free()
    {
        NativeMemory.AlignedFree(Pointer);
        Pointer = null;
    }
}
