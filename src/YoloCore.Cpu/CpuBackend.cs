using System.Numerics;
using System.Runtime.CompilerServices;

namespace YoloCore.Cpu;

/// The CPU backend: float32 is the reference the CUDA backend is checked against, float64 exists
/// for gradient checks. Each op family lives in its own file under Ops/; this file holds memory,
/// copies and the dtype dispatch they share.
public sealed unsafe partial class CpuBackend : IBackend
{
    public static readonly CpuBackend Instance = new();

    CpuBackend() { }

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

    public void CopyFromHost(ReadOnlySpan<byte> source, Tensor destination)
    {
        if (source.Length != destination.Bytes) throw new ArgumentException($"{source.Length} bytes for {destination}");
        source.CopyTo(new Span<byte>(Raw(destination), source.Length));
    }

    public void CopyToHost(Tensor source, Span<byte> destination)
    {
        if (destination.Length != source.Bytes) throw new ArgumentException($"{destination.Length} bytes for {source}");
        new ReadOnlySpan<byte>(Raw(source), destination.Length).CopyTo(destination);
    }

    public void Copy(Tensor source, Tensor destination)
    {
        if (source.Count != destination.Count) throw new ArgumentException($"copy {source} into {destination}: sizes differ");
        if (source.DType == destination.DType)
        {
            Buffer.MemoryCopy(Raw(source), Raw(destination), destination.Bytes, source.Bytes);
            return;
        }
        long n = source.Count;
        // Conversions go through double, which represents every value of every dtype exactly.
        var read = Reader(source);
        var write = Writer(destination);
        for (long i = 0; i < n; i++) write(i, read(i));
    }

    static Func<long, double> Reader(Tensor t)
    {
        void* p = Raw(t);
        return t.DType switch
        {
            DType.Float32 => i => ((float*)p)[i],
            DType.Float64 => i => ((double*)p)[i],
            DType.Float16 => i => (double)((Half*)p)[i],
            DType.Int32 => i => ((int*)p)[i],
            DType.UInt8 => i => ((byte*)p)[i],
            _ => throw new NotSupportedException(t.DType.Name()),
        };
    }

    static Action<long, double> Writer(Tensor t)
    {
        void* p = Raw(t);
        return t.DType switch
        {
            DType.Float32 => (i, v) => ((float*)p)[i] = (float)v,
            DType.Float64 => (i, v) => ((double*)p)[i] = v,
            DType.Float16 => (i, v) => ((Half*)p)[i] = (Half)v,
            DType.Int32 => (i, v) => ((int*)p)[i] = (int)v,
            DType.UInt8 => (i, v) => ((byte*)p)[i] = (byte)Math.Clamp(Math.Round(v), 0, 255),
            _ => throw new NotSupportedException(t.DType.Name()),
        };
    }

    public void Fill(Tensor destination, double value)
    {
        long n = destination.Count;
        void* p = Raw(destination);
        switch (destination.DType)
        {
            case DType.Float32: new Span<float>(p, checked((int)n)).Fill((float)value); break;
            case DType.Float64: new Span<double>(p, checked((int)n)).Fill(value); break;
            case DType.Float16: new Span<Half>(p, checked((int)n)).Fill((Half)value); break;
            case DType.Int32: new Span<int>(p, checked((int)n)).Fill((int)value); break;
            case DType.UInt8: new Span<byte>(p, checked((int)n)).Fill((byte)value); break;
        }
    }
}
