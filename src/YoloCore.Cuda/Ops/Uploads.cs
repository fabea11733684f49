using YoloCore.Native;

namespace YoloCore.Cuda;

// Batches go to the GPU from page-locked memory on a second stream, so the copy of the next batch
// runs while the current step computes. Ordering is by events: the copy stream first waits for
// everything queued on the compute stream so far (the destination may be a recycled block), and
// the compute stream waits for the copy only when the batch is about to be used.
public sealed unsafe partial class CudaBackend
{
    readonly Dictionary<long, CUevent> fences = [];
    CUstream copyStream;
    long nextFence;

    public nint AllocatePinned(long bytes)
    {
        gpu.MakeCurrent();
        return (nint)CudaDriver.MemHostAlloc((ulong)Math.Max(1, bytes), CudaDriver.CU_MEMHOSTALLOC_PORTABLE);
    }

    public void FreePinned(nint pointer)
    {
        gpu.MakeCurrent();
        CudaDriver.MemFreeHost((void*)pointer);
    }

    public long UploadAsync(nint source, Tensor destination)
    {
        capture.Refuse(nameof(UploadAsync));
        gpu.MakeCurrent();
        lock (fences)
        {
            if (copyStream.Equals(default(CUstream))) copyStream = CudaDriver.StreamCreate();
            var queued = CudaDriver.EventCreate(CudaDriver.CU_EVENT_DISABLE_TIMING);
            CudaDriver.EventRecord(queued, gpu.Stream);
            CudaDriver.StreamWaitEvent(copyStream, queued);
            CudaDriver.EventDestroy(queued); // released by the driver once the wait is satisfied
            CudaDriver.MemcpyHtoDAsync(Ptr(destination), (void*)source, (ulong)destination.Bytes, copyStream);
            var done = CudaDriver.EventCreate(CudaDriver.CU_EVENT_DISABLE_TIMING);
            CudaDriver.EventRecord(done, copyStream);
            fences[++nextFence] = done;
            return nextFence;
        }
    }

    /// On the compute stream, so it follows the ops that produced source and nothing after them.
    public long DownloadAsync(Tensor source, nint destination)
    {
        capture.Refuse(nameof(DownloadAsync));
        gpu.MakeCurrent();
        lock (fences)
        {
            CudaDriver.MemcpyDtoHAsync((void*)destination, Ptr(source), (ulong)source.Bytes, gpu.Stream);
            var done = CudaDriver.EventCreate(CudaDriver.CU_EVENT_DISABLE_TIMING);
            CudaDriver.EventRecord(done, gpu.Stream);
            fences[++nextFence] = done;
            return nextFence;
        }
    }

    public void DeviceWait(long fence)
    {
        capture.Refuse(nameof(DeviceWait));
        gpu.MakeCurrent();
        lock (fences)
            if (fences.TryGetValue(fence, out var done)) CudaDriver.StreamWaitEvent(gpu.Stream, done);
    }

    public void HostWait(long fence)
    {
        capture.Refuse(nameof(HostWait));
        gpu.MakeCurrent();
        CUevent done;
        lock (fences)
        {
            if (!fences.Remove(fence, out done)) return;
        }
        CudaDriver.EventSynchronize(done);
        CudaDriver.EventDestroy(done);
    }
}
