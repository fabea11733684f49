using YoloCore.Native;

namespace YoloCore.Cuda;

/// The CUDA backend's IDeviceQueue: what the NCCL communicator (in YoloCore.Distributed) needs to
/// run collectives on a stream of its own, ordered against this backend's compute stream.
public sealed partial class CudaBackend : IDeviceQueue
{
    nint IDeviceQueue.ComputeStream => gpu.Stream.Handle;

    void IDeviceQueue.MakeCurrent() => gpu.MakeCurrent();

    nint IDeviceQueue.CreateStream()
    {
        gpu.MakeCurrent();
        return CudaDriver.StreamCreate().Handle;
    }

    ulong IDeviceQueue.Address(Tensor tensor) => Ptr(tensor);

    void IDeviceQueue.Order(nint after, nint waiter)
    {
        var e = CudaDriver.EventCreate(CudaDriver.CU_EVENT_DISABLE_TIMING);
        CudaDriver.EventRecord(e, new CUstream(after));
        CudaDriver.StreamWaitEvent(new CUstream(waiter), e);
        CudaDriver.EventDestroy(e); // the wait holds what it needs; destroying early is allowed
    }

    nint IDeviceQueue.Mark(nint stream)
    {
        var e = CudaDriver.EventCreate(CudaDriver.CU_EVENT_DISABLE_TIMING);
        CudaDriver.EventRecord(e, new CUstream(stream));
        return e.Handle;
    }

    bool IDeviceQueue.IsDone(nint mark)
    {
        var state = CudaDriver.Api.cuEventQuery(new CUevent(mark));
        if (state == CUresult.CUDA_SUCCESS) return true;
        if (state != CUresult.CUDA_ERROR_NOT_READY) CudaDriver.Check(state, "cuEventQuery");
        return false;
    }

    void IDeviceQueue.Release(nint mark) => CudaDriver.EventDestroy(new CUevent(mark));
}
