namespace YoloCore.Cpu;

/// Copies between the host and tensors, between tensors (converting dtypes), and fills.
public sealed unsafe partial class CpuBackend
{
    public void CopyFromHost(nint source, Tensor destination) =>
        Buffer.MemoryCopy((void*)source, Raw(destination), destination.Bytes, destination.Bytes);

    public void CopyToHost(Tensor source, nint destination) =>
        Buffer.MemoryCopy(Raw(source), (void*)destination, source.Bytes, source.Bytes);

    public void CopyMany(IReadOnlyList<Tensor> sources, IReadOnlyList<Tensor> destinations)
    {
        if (sources.Count != destinations.Count) throw new ArgumentException($"CopyMany: {sources.Count} sources for {destinations.Count} destinations");
        for (int i = 0; i < sources.Count; i++) Copy(sources[i], destinations[i]);
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
