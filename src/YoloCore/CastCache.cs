namespace YoloCore;

/// Autocast's weight cache: while one is open on this thread, Cast of a listed master weight to
/// the cache's dtype returns the copy made for every listed weight in one backend call (one
/// launch on a GPU: yolov5s has 60 convolution weights, each cast once per forward otherwise).
/// The copies carry the same gradient path as Cast's, so their gradients still reach the
/// float32 masters. Open it around one forward pass: a copy is of the weights as they were when
/// it opened, and its autograd node serves one backward.
public sealed class CastCache : IDisposable
{
    [ThreadStatic] static CastCache? current;

    readonly CastCache? outer;
    readonly DType dtype;
    readonly Dictionary<Tensor, Tensor> copies = new(ReferenceEqualityComparer.Instance);

    CastCache(IReadOnlyList<Tensor> masters, DType dtype)
    {
        this.dtype = dtype;
        var cast = masters.Where(m => m.DType != dtype).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToList();
        foreach (var (master, copy) in cast.Zip(Ops.CastUnscoped(cast, dtype))) copies[master] = copy;
        outer = current;
        current = this;
    }

    /// Casts masters to dtype now, in one call per backend, and opens the cache.
    public static CastCache Begin(IReadOnlyList<Tensor> masters, DType dtype) => new(masters, dtype);

    /// Tensors cast once for the whole cache (the others are cast as usual).
    public int Count => copies.Count;

    /// A new handle on x's cached copy in dtype (same storage, same gradient path), or null.
    internal static Tensor? Lookup(Tensor x, DType dtype)
    {
        if (current is not { } c || c.dtype != dtype || !c.copies.TryGetValue(x, out var copy)) return null;
        var handle = copy.ShareStorage(copy.Shape);
        handle.GradFn = copy.GradFn;
        return handle;
    }

    public void Dispose()
    {
        if (current != this) throw new InvalidOperationException("cast caches must close in the reverse order they opened");
        current = outer;
        foreach (var copy in copies.Values) copy.Dispose();
        copies.Clear();
    }
}
