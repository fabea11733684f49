namespace YoloCore;

/// A block of device memory shared by one or more tensor handles (Reshape and saved-for-backward
/// handles share it). Reference counted: the memory returns to its backend when the last handle
/// is disposed, never by the garbage collector.
public abstract class Storage
{
    int references = 1;

    protected Storage(Device device, long bytes)
    {
        Device = device;
        Bytes = bytes;
        MemoryStats.OnAllocate(device, bytes);
    }

    public Device Device { get; }
    public long Bytes { get; }
    public bool IsFreed => Volatile.Read(ref references) <= 0;

    /// More than one handle refers to this memory, so writing in place would change the others.
    internal bool IsShared => Volatile.Read(ref references) > 1;

    internal void Retain()
    {
        if (Interlocked.Increment(ref references) <= 1)
            throw new ObjectDisposedException(nameof(Storage), "storage was already freed");
    }

    internal void Release()
    {
        int left = Interlocked.Decrement(ref references);
        if (left == 0)
        {
            Free();
            MemoryStats.OnFree(Device, Bytes);
        }
        else if (left < 0) throw new ObjectDisposedException(nameof(Storage), "storage released twice");
    }

    /// Return the memory to the device (or to a caching allocator).
    protected abstract void Free();
}
