namespace YoloCore;

/// What a GPU backend lends a communicator that runs on its own stream (NCCL): the device made
/// current for the calling thread, tensors' device addresses, and streams and events to order the
/// communicator's work against the backend's compute stream. Handles are the driver's (CUstream,
/// CUevent) as nint. Implemented by the CUDA backend; the CPU backend needs none.
public interface IDeviceQueue
{
    void MakeCurrent();
    /// The stream every op of the backend is queued on.
    nint ComputeStream { get; }
    nint CreateStream();
    /// The device address of a tensor's first element.
    ulong Address(Tensor tensor);
    /// Work queued on `waiter` from now on waits for what is queued on `after` so far.
    void Order(nint after, nint waiter);
    /// An event recorded on the stream now; poll it with IsDone, free it with Release.
    nint Mark(nint stream);
    bool IsDone(nint mark);
    void Release(nint mark);
    /// Waits for everything queued on the device.
    void Synchronize();
}
