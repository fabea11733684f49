namespace YoloCore;

/// A block of device memory shared by one or more tensor handles (Reshape and saved-for-backward
/// handles share it). Reference counted: the memory returns to its backend when the last handle
/// is disposed, never by the garbage collector.
public abstract class Storage
{
    int references = 1;
    /// For a range of another storage (Slice): the storage it lies in, kept alive while it lives.
    readonly Storage? parent;

    protected Storage(Device device, long bytes)
    {
        Device = device;
        Bytes = bytes;
        MemoryStats.OnAllocate(device, bytes);
    }

    /// A range of parent's memory (a backend's Slice): it allocates and counts nothing, and holds
    /// the parent until it is released.
    protected Storage(Storage parent, long bytes)
    {
        parent.Retain();
        this.parent = parent;
        Device = parent.Device;
        Bytes = bytes;
    }

    /// bytes of this storage from byteOffset as a storage of its own, sharing the memory: what
    /// lets gradients live inside one bucket buffer (the reducer's gradient-as-bucket-view).
    public virtual Storage Slice(long byteOffset, long bytes) =>
        throw new NotSupportedException($"{GetType().Name} has no views");

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
            if (parent is not null) parent.Release();
            else
            {
                Free();
                MemoryStats.OnFree(Device, Bytes);
            }
        }
        else if (left < 0) throw new ObjectDisposedException(nameof(Storage), "storage released twice");
    }

    /// Return the memory to the device (or to a caching allocator). Not called for a slice.
    protected abstract void Free();

    protected static void CheckRange(Storage s, long byteOffset, long bytes)
    {
        if (byteOffset < 0 || bytes < 0 || byteOffset + bytes > s.Bytes)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + bytes}) outside a {s.Bytes}-byte storage");
    }
}
