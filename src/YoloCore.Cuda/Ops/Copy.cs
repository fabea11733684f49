using YoloCore.Native;

namespace YoloCore.Cuda;

// Host ↔ device transfers, device copies with dtype conversion (copy.cu), and fills.
public sealed unsafe partial class CudaBackend
{
    public void CopyFromHost(nint source, Tensor destination)
    {
        gpu.MakeCurrent();
        if (capture.IsCapturing)
        {
            capture.CopyConstant(source, destination);
            CountLaunch("upload");
            return;
        }
        // From pageable memory the driver stages the bytes before returning, so the source may be
        // reused at once; the copy is ordered with the ops on the stream.
        CudaDriver.MemcpyHtoDAsync(Ptr(destination), (void*)source, (ulong)destination.Bytes, gpu.Stream);
        CountLaunch("upload");
    }

    public void CopyToHost(Tensor source, nint destination)
    {
        capture.Refuse(nameof(CopyToHost));
        gpu.MakeCurrent();
        CudaDriver.MemcpyDtoHAsync((void*)destination, Ptr(source), (ulong)source.Bytes, gpu.Stream);
        gpu.Synchronize();
    }

    static string CastName(DType d) => d switch
    {
        DType.Float32 => "f32",
        DType.Float16 => "f16",
        DType.UInt8 => "u8",
        DType.Int32 => "i32",
        _ => throw new NotSupportedException($"CUDA tensors cannot hold {d.Name()} (float64 is CPU-only, for gradient checks)"),
    };

    public void Copy(Tensor source, Tensor destination)
    {
        if (source.Count != destination.Count) throw new ArgumentException($"copy {source} into {destination}: sizes differ");
        if (!source.Device.Equals(Device) && !source.Device.IsCpu)
            throw new ArgumentException($"copy between devices {source.Device} and {destination.Device}: use Tensor.To");
        gpu.MakeCurrent();
        if (source.DType == destination.DType)
        {
            CudaDriver.MemcpyDtoDAsync(Ptr(destination), Ptr(source), (ulong)source.Bytes, gpu.Stream);
            CountLaunch("device copy");
            return;
        }
        kernel.Cast($"{CastName(source.DType)}_{CastName(destination.DType)}", source.Count, Ptr(source), Ptr(destination), source.Count);
    }

    /// float32 ↔ float16 pairs in one multi-tensor launch (multitensor.cu's chunk list), others one Copy each.
    public void CopyMany(IReadOnlyList<Tensor> sources, IReadOnlyList<Tensor> destinations)
    {
        if (sources.Count != destinations.Count) throw new ArgumentException($"CopyMany: {sources.Count} sources for {destinations.Count} destinations");
        if (sources.Count == 0) return;
        DType from = sources[0].DType, to = destinations[0].DType;
        bool oneCast = from != to && (from is DType.Float32 or DType.Float16) && (to is DType.Float32 or DType.Float16)
            && Enumerable.Range(0, sources.Count).All(i => sources[i].DType == from && destinations[i].DType == to
                && sources[i].Count == destinations[i].Count && sources[i].Device.Equals(Device));
        if (!oneCast)
        {
            for (int i = 0; i < sources.Count; i++) Copy(sources[i], destinations[i]);
            return;
        }
        gpu.MakeCurrent();
        using var table = Chunks(sources, destinations, null, out int n);
        if (n > 0) kernel.MtCast($"{CastName(from)}_{CastName(to)}", Work.Grid((uint)n, 1, 1), Ptr(table));
    }

    public void Fill(Tensor destination, double value)
    {
        gpu.MakeCurrent();
        CountLaunch("fill");
        ulong p = Ptr(destination), n = (ulong)destination.Count;
        switch (destination.DType)
        {
            case DType.Float32: CudaDriver.MemsetD32Async(p, BitConverter.SingleToUInt32Bits((float)value), n, gpu.Stream); break;
            case DType.Int32: CudaDriver.MemsetD32Async(p, unchecked((uint)(int)value), n, gpu.Stream); break;
            case DType.UInt8: CudaDriver.MemsetD8Async(p, (byte)value, n, gpu.Stream); break;
            // A 16-bit memset: queued like the others, so no host wait (and capturable).
            case DType.Float16: CudaDriver.MemsetD16Async(p, BitConverter.HalfToUInt16Bits((Half)value), n, gpu.Stream); break;
            default: throw new NotSupportedException($"CUDA tensors cannot hold {destination.DType.Name()}");
        }
    }
}
