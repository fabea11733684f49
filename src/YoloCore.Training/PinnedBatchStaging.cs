using System.Buffers;
using System.Collections.Concurrent;
using YoloCore.Data;

namespace YoloCore.Training;

/// Loader buffers in page-locked memory, so a batch goes to the GPU as an asynchronous copy straight
/// from where the workers assembled it, while the previous step computes. A buffer handed back by a
/// batch is only reused after its upload has finished (the upload's fence).
public sealed unsafe class PinnedBatchStaging(IBackend backend) : IBatchStaging, IDisposable
{
    sealed class Block(nint pointer, int bytes)
    {
        public nint Pointer { get; } = pointer;
        public int Bytes { get; } = bytes;
        public long Fence { get; set; } = -1;
    }

    /// Memory<byte> over a native block.
    sealed class NativeMemory(nint pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new((void*)pointer, length);
        public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)pointer + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }

    readonly ConcurrentDictionary<int, ConcurrentBag<Block>> free = new();
    readonly ConcurrentBag<Block> all = [];

    public StagingBuffer Rent(int byteCount)
    {
        var bag = free.GetOrAdd(byteCount, _ => []);
        if (!bag.TryTake(out var block))
        {
            block = new Block(backend.AllocatePinned(byteCount), byteCount);
            all.Add(block);
        }
        WaitForUpload(block);
        return new StagingBuffer(new NativeMemory(block.Pointer, byteCount).Memory, block.Pointer, block);
    }

    public void Return(StagingBuffer buffer)
    {
        if (buffer.Owner is Block block) free.GetOrAdd(block.Bytes, _ => []).Add(block);
    }

    void WaitForUpload(Block block)
    {
        long fence = block.Fence;
        if (fence < 0) return;
        block.Fence = -1;
        backend.HostWait(fence);
    }

    /// Queues the upload of a batch's images (NHWC uint8) to the device; call backend.DeviceWait
    /// with the fence before the returned tensor is used. The tensor is the caller's to dispose.
    public (Tensor Images, long Fence) Upload(Batch batch)
    {
        if (batch.Buffer.Owner is not Block block) throw new InvalidOperationException("this batch was not assembled in pinned staging");
        var images = Tensor.EmptyUnscoped(new Shape(batch.Size, batch.Height, batch.Width, 3), DType.UInt8, backend.Device);
        block.Fence = backend.UploadAsync(block.Pointer, images);
        return (images, block.Fence);
    }

    public void Dispose()
    {
        foreach (var block in all)
        {
            WaitForUpload(block);
            backend.FreePinned(block.Pointer);
        }
        all.Clear();
        free.Clear();
    }
}
