using System.Numerics;
using System.Runtime.CompilerServices;

namespace YoloCore.Cpu;

/// The CPU backend: float32 is what the CUDA backend is checked against, float64 exists for
/// gradient checks. Each op lives in Ops/ in a file named as in Core's Ops/ (copies in
/// Ops/Copy.cs) as a plain reference, with its tuned float32 version, if any, in Fast/ (Tier.cs
/// says which runs); this file holds memory, uploads and the dtype dispatch they share.
public sealed unsafe partial class CpuBackend : IBackend, IYoloLoss, IOptimizerKernels
{
    public static readonly CpuBackend Instance = new();

    readonly ExtensionOps extensions;

    CpuBackend() => extensions = new ExtensionOps(Device.Cpu).Add<IYoloLoss>(this).Add<IOptimizerKernels>(this)
        .Add<IGraphCapture>(new CpuGraphCapture(this));

    public T Extension<T>() where T : class => extensions.Get<T>();

    /// Called by Backends when the first CPU tensor is made.
    public static IBackend Create(Device device) =>
        device.IsCpu ? Instance : throw new ArgumentException($"the CPU backend does not own {device}");

    public Device Device => Device.Cpu;

    public Storage Allocate(long bytes) => new CpuStorage(bytes);

    /// CPU ops finish before they return.
    public void Synchronize() { }

    public nint AllocatePinned(long bytes) => (nint)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)Math.Max(1, bytes), 64);
    public void FreePinned(nint pointer) => System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)pointer);

    /// On the CPU the "upload" is a copy that has finished when it returns.
    public long UploadAsync(nint source, Tensor destination)
    {
        Buffer.MemoryCopy((void*)source, Raw(destination), destination.Bytes, destination.Bytes);
        return 0;
    }

    /// Likewise the "download": the bytes are there when it returns.
    public long DownloadAsync(Tensor source, nint destination)
    {
        Buffer.MemoryCopy(Raw(source), (void*)destination, source.Bytes, source.Bytes);
        return 0;
    }

    public void DeviceWait(long fence) { }
    public void HostWait(long fence) { }

    internal static void* Raw(Tensor t)
    {
        if (!t.Device.IsCpu) throw new ArgumentException($"{t} is not on the CPU");
        return ((CpuStorage)t.Storage).Pointer;
    }

    internal static T* Ptr<T>(Tensor t) where T : unmanaged
    {
        if (t.DType != DTypeInfo.Of<T>()) throw new ArgumentException($"{t} is not {typeof(T).Name}");
        return (T*)Raw(t);
    }

    /// Dispatches a kernel generic over the floating type to float32 or float64.
    internal static void Floating(Tensor t, string op, Action f32, Action f64)
    {
        switch (t.DType)
        {
            case DType.Float32: f32(); break;
            case DType.Float64: f64(); break;
            default: throw new NotSupportedException($"{op} on the CPU computes in float32 or float64, not {t.DType.Name()} ({t}); cast first");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T Cast<T>(double v) where T : IFloatingPointIeee754<T> => T.CreateChecked(v);
}
