using System.Runtime.InteropServices;
using YoloCore.Autograd;

namespace YoloCore;

/// A contiguous row-major n-dimensional array on one device, and a handle in the autograd graph.
/// Several handles may share one Storage (Reshape, Detach, tensors saved for backward); the
/// storage is freed when the last handle is disposed. Activations are NHWC; convolution weights
/// are OHWI. There are no general strides: Reshape is free, Permute copies.
public sealed partial class Tensor : IDisposable
{
    Storage? storage;
    bool requiresGrad;
    List<Action<Tensor>>? gradFinalHooks;

    internal Tensor(Storage storage, Shape shape, DType dtype, bool scoped = true)
    {
        this.storage = storage;
        Shape = shape;
        DType = dtype;
        if (scoped) TensorScope.Adopt(this);
    }

    public Shape Shape { get; }
    public DType DType { get; }
    public Device Device => Storage.Device;
    public long Count => Shape.Count;
    public int Rank => Shape.Rank;
    public long Bytes => Count * DType.SizeOf();

    /// A name for messages and checkpoints (YOLOv5 state-dict names for parameters).
    public string? Name { get; set; }

    public Storage Storage => storage ?? throw new ObjectDisposedException(Describe(), "tensor was disposed");
    public bool IsDisposed => storage is null;
    internal TensorScope? Scope { get; set; }
    /// The backend that owns this tensor's device.
    public IBackend Backend => Backends.For(Device);

    /// The node that produced this tensor, or null for leaves (inputs, parameters).
    public Node? GradFn { get; internal set; }
    public bool IsLeaf => GradFn is null;

    /// Leaves: whether gradients are accumulated into Grad. Non-leaves: whether a graph is attached.
    public bool RequiresGrad
    {
        get => requiresGrad || GradFn is not null;
        set
        {
            if (!IsLeaf) throw new InvalidOperationException("RequiresGrad can only be set on leaf tensors");
            if (value && !DType.IsFloating()) throw new InvalidOperationException($"only floating tensors can require gradients, not {DType.Name()}");
            requiresGrad = value;
        }
    }

    /// The accumulated gradient of a leaf. It is unscoped: it lives until the leaf's owner resets it.
    public Tensor? Grad { get; internal set; }

    /// Registers a hook that runs during Backward as soon as this leaf's gradient for the current
    /// backward pass is complete (every use of the leaf has contributed). The data-parallel
    /// reducer starts bucket all-reduces from it.
    public void OnGradFinal(Action<Tensor> hook)
    {
        if (!IsLeaf) throw new InvalidOperationException("gradient hooks are for leaf tensors");
        (gradFinalHooks ??= []).Add(hook);
    }

    /// Removes a hook registered with OnGradFinal (a reducer that is disposed).
    public void RemoveGradFinalHook(Action<Tensor> hook) => gradFinalHooks?.Remove(hook);

    /// A tensor of `shape` over this tensor's elements [offset, offset + shape.Count), sharing the
    /// memory (writes to one are writes to the other), in no scope: the caller disposes it.
    public Tensor ViewRange(long offset, Shape shape)
    {
        if (offset < 0 || offset + shape.Count > Count) throw new ArgumentOutOfRangeException(nameof(offset), $"elements [{offset}, {offset + shape.Count}) of {this}");
        int size = DType.SizeOf();
        return new Tensor(Storage.Slice(offset * size, shape.Count * size), shape, DType, scoped: false);
    }

    internal void RunGradFinalHooks()
    {
        if (gradFinalHooks is null) return;
        foreach (var h in gradFinalHooks) h(this);
    }

    /// Sets a leaf's gradient to a tensor it now owns (taken out of any scope), e.g. a gradient
    /// averaged across ranks for a parameter that had none locally.
    public void SetGrad(Tensor grad)
    {
        if (!IsLeaf) throw new InvalidOperationException("only leaf tensors have gradients");
        if (grad.Shape != Shape) throw new ArgumentException($"gradient {grad.Shape} for {this}");
        Grad?.Dispose();
        Grad = TensorScope.Escape(grad);
    }

    /// Drops the accumulated gradient (returns its memory).
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    public void Dispose()
    {
        var s = storage;
        if (s is null) return;
        storage = null;
        s.Release();
    }

    /// A new handle on the same storage with another shape (no copy). Not recorded by autograd.
    internal Tensor ShareStorage(Shape shape, bool scoped = true)
    {
        if (shape.Count != Count) throw new ArgumentException($"cannot view {Shape} as {shape}");
        Storage.Retain();
        return new Tensor(Storage, shape, DType, scoped);
    }

    /// Moves this leaf's data to another device in place: the same object (so optimizers and
    /// modules keep their references) with new storage. Its gradient is dropped.
    public void MoveTo(Device device)
    {
        if (Device == device) return;
        if (!IsLeaf) throw new InvalidOperationException($"only leaf tensors move in place, not {this}");
        var host = new byte[Bytes];
        CopyTo(host);
        var old = Storage;
        storage = Backends.For(device).Allocate(Math.Max(1, Count) * DType.SizeOf());
        CopyFrom(host);
        old.Release();
        ZeroGrad();
    }

    /// This tensor ← host bytes (exactly Bytes of them).
    public unsafe void CopyFrom(ReadOnlySpan<byte> host)
    {
        if (host.Length != Bytes) throw new ArgumentException($"{host.Length} bytes cannot fill {this} ({Bytes} bytes)");
        fixed (byte* p = host) Backend.CopyFromHost((nint)p, this);
    }

    /// host (exactly Bytes of them) ← this tensor, finished when it returns.
    public unsafe void CopyTo(Span<byte> host)
    {
        if (host.Length != Bytes) throw new ArgumentException($"{host.Length} bytes cannot hold {this} ({Bytes} bytes)");
        fixed (byte* p = host) Backend.CopyToHost(this, (nint)p);
    }

    /// A handle on the same data that is cut from the graph.
    public Tensor Detach() => ShareStorage(Shape);

    string Describe() => $"{Name ?? "tensor"}{Shape} {DType.Name()}";
    public override string ToString() => IsDisposed ? $"{Name ?? "tensor"}{Shape} (disposed)" : $"{Describe()} on {Device}";

    // ---- creation ------------------------------------------------------------------------------

    /// Uninitialised tensor in the current scope.
    public static Tensor Empty(Shape shape, DType dtype = DType.Float32, Device? device = null) =>
        Allocate(shape, dtype, device ?? Device.Cpu, scoped: true);

    /// Uninitialised tensor that belongs to no scope (parameters, optimizer state, gradients):
    /// the caller disposes it.
    public static Tensor EmptyUnscoped(Shape shape, DType dtype = DType.Float32, Device? device = null) =>
        Allocate(shape, dtype, device ?? Device.Cpu, scoped: false);

    static Tensor Allocate(Shape shape, DType dtype, Device device, bool scoped)
    {
        var backend = Backends.For(device);
        var storage = backend.Allocate(Math.Max(1, shape.Count) * dtype.SizeOf());
        return new Tensor(storage, shape, dtype, scoped);
    }

    public static Tensor Full(Shape shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        t.Backend.Fill(t, value);
        return t;
    }

    public static Tensor Zeros(Shape shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);
    public static Tensor Ones(Shape shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full(new Shape(), value, dtype, device);

    /// Copies host data into a new tensor of the matching dtype.
    public static Tensor FromArray<T>(ReadOnlySpan<T> data, Shape shape, Device? device = null) where T : unmanaged
    {
        if (data.Length != shape.Count) throw new ArgumentException($"{data.Length} values cannot fill shape {shape}");
        var t = Empty(shape, DTypeInfo.Of<T>(), device);
        t.CopyFrom(MemoryMarshal.AsBytes(data));
        return t;
    }

    public static Tensor FromArray<T>(T[] data, params int[] shape) where T : unmanaged =>
        FromArray<T>(data.AsSpan(), new Shape(shape));

    /// Normal(0, std) values drawn from rng on the host, in the requested dtype.
    public static Tensor Randn(Shape shape, Rng rng, double std = 1, DType dtype = DType.Float32, Device? device = null)
    {
        var v = new double[shape.Count];
        for (int i = 0; i < v.Length; i++) v[i] = rng.Normal() * std;
        return FromDoubles(v, shape, dtype, device);
    }

    /// Uniform [lo, hi) values drawn from rng on the host.
    public static Tensor Uniform(Shape shape, Rng rng, double lo, double hi, DType dtype = DType.Float32, Device? device = null)
    {
        var v = new double[shape.Count];
        for (int i = 0; i < v.Length; i++) v[i] = lo + (hi - lo) * rng.NextDouble();
        return FromDoubles(v, shape, dtype, device);
    }

    /// A floating tensor of the given dtype from double values (rounded once).
    public static Tensor FromDoubles(double[] values, Shape shape, DType dtype = DType.Float32, Device? device = null) => dtype switch
    {
        DType.Float64 => FromArray<double>(values, shape, device),
        DType.Float32 => FromArray<float>(Array.ConvertAll(values, v => (float)v), shape, device),
        DType.Float16 => FromArray<Half>(Array.ConvertAll(values, v => (Half)v), shape, device),
        _ => throw new NotSupportedException($"FromDoubles makes floating tensors, not {dtype.Name()}"),
    };

    // ---- reading back --------------------------------------------------------------------------

    /// How many times tensors were read back to the host (ToArray, ToDoubles, Item): on a GPU each
    /// waits for everything queued, so a training step's count is its host synchronisations.
    public static long HostReads => Interlocked.Read(ref hostReads);
    static long hostReads;

    /// Copies the elements to a host array; T must match the dtype.
    public T[] ToArray<T>() where T : unmanaged
    {
        if (DTypeInfo.Of<T>() != DType) throw new InvalidOperationException($"{this} cannot be read as {typeof(T).Name}");
        Interlocked.Increment(ref hostReads);
        var r = new T[Count];
        CopyTo(MemoryMarshal.AsBytes(r.AsSpan()));
        return r;
    }

    /// The elements widened to double, whatever the dtype (for comparisons and printing).
    public double[] ToDoubles() => DType switch
    {
        DType.Float32 => Array.ConvertAll(ToArray<float>(), v => (double)v),
        DType.Float64 => ToArray<double>(),
        DType.Float16 => Array.ConvertAll(ToArray<Half>(), v => (double)v),
        DType.Int32 => Array.ConvertAll(ToArray<int>(), v => (double)v),
        DType.UInt8 => Array.ConvertAll(ToArray<byte>(), v => (double)v),
        _ => throw new NotSupportedException(DType.Name()),
    };

    /// The single value of a one-element tensor.
    public double Item()
    {
        if (Count != 1) throw new InvalidOperationException($"Item() needs one element, {this} has {Count}");
        return ToDoubles()[0];
    }
}
