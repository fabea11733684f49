using YoloCore.Native;

namespace YoloCore.Cuda;

/// One GPU as the backend uses it: the primary context (made current on whichever thread calls),
/// one non-blocking compute stream every op is queued on, and the device's properties.
internal sealed class CudaDevice
{
    [ThreadStatic] static CUcontext currentOnThread;

    public CudaDevice(int ordinal)
    {
        CudaDriver.Init();
        int count = CudaDriver.DeviceGetCount();
        if (ordinal < 0 || ordinal >= count)
            throw new ArgumentException($"cuda:{ordinal} does not exist: this machine has {count} CUDA device(s)");
        Ordinal = ordinal;
        Handle = CudaDriver.DeviceGet(ordinal);
        Name = CudaDriver.DeviceGetName(Handle);
        ComputeCapability = CudaDriver.DeviceComputeCapability(Handle);
        TotalMemory = CudaDriver.DeviceTotalMem(Handle);
        Context = CudaDriver.DevicePrimaryCtxRetain(Handle);
        MakeCurrent();
        Stream = CudaDriver.StreamCreate();
    }

    public int Ordinal { get; }
    public int Handle { get; }
    public string Name { get; }
    public (int Major, int Minor) ComputeCapability { get; }
    public ulong TotalMemory { get; }
    public CUcontext Context { get; }
    public CUstream Stream { get; }

    /// Driver calls act on the thread's current context; ops may come from any thread.
    public void MakeCurrent()
    {
        if (currentOnThread.Equals(Context)) return;
        CudaDriver.CtxSetCurrent(Context);
        currentOnThread = Context;
    }

    public void Synchronize()
    {
        MakeCurrent();
        CudaDriver.StreamSynchronize(Stream);
    }
}
