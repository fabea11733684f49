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

    CpuStorage(CpuStorage parent, long byteOffset, long bytes) : base(parent, bytes)
    {
        Pointer = (byte*)parent.Pointer + byteOffset;
    }

    public void* Pointer { get; private set; }

    public override Storage Slice(long byteOffset, long bytes)
    {
        CheckRange(this, byteOffset, bytes);
        return new CpuStorage(this, byteOffset, bytes);
    }

    protected override void Free()
    {
        HostBlockCache.Free(Pointer, Bytes);
        Pointer = null;
    }
}
