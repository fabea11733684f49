namespace YoloCore.Cpu;

/// Host memory for a tensor: 64-byte aligned (one cache line, one AVX-512 register) native memory,
/// returned when the last tensor handle goes, not by the garbage collector; large blocks go back
/// to HostBlockCache for the next tensor of their size.
internal sealed unsafe class CpuStorage : Storage
{
    public CpuStorage(long bytes) : base(Device.Cpu, bytes)
    {
        Pointer = HostBlockCache.Allocate(bytes);
    }

    public void* Pointer { get; private set; }

    protected override void Free()
    {
        HostBlockCache.Free(Pointer, Bytes);
        Pointer = null;
    }
}
