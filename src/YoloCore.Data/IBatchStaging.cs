using System.Collections.Concurrent;

namespace YoloCore.Data;

/// Host memory a batch's images are assembled in. A CUDA backend implements IBatchStaging with
/// page-locked (pinned) buffers so the upload can be an async copy straight from here; PinnedAddress
/// is then the buffer's address (0 for ordinary managed memory).
public sealed class StagingBuffer(Memory<byte> memory, nint pinnedAddress = 0, object? owner = null)
{
    public Memory<byte> Memory { get; } = memory;
    public nint PinnedAddress { get; } = pinnedAddress;
    /// Whatever the staging implementation needs to find its allocation again.
    public object? Owner { get; } = owner;
}

/// Where the loader gets batch image buffers from and gives them back to (when the Batch is
/// disposed). Rent may be called from worker threads; implementations must be thread-safe.
public interface IBatchStaging
{
    StagingBuffer Rent(int byteCount);
    void Return(StagingBuffer buffer);
}

/// The default: plain managed arrays, reused by size so steady-state training allocates nothing.
public sealed class ManagedBatchStaging : IBatchStaging
{
    readonly ConcurrentDictionary<int, ConcurrentBag<byte[]>> free = new();

    public static ManagedBatchStaging Shared { get; } = new();

    public StagingBuffer Rent(int byteCount)
    {
        var bag = free.GetOrAdd(byteCount, _ => []);
        var array = bag.TryTake(out var a) ? a : new byte[byteCount];
        return new StagingBuffer(array.AsMemory(0, byteCount), 0, array);
    }

    public void Return(StagingBuffer buffer)
    {
        if (buffer.Owner is byte[] array && free.TryGetValue(buffer.Memory.Length, out var bag) && bag.Count < 16) bag.Add(array);
    }
}
