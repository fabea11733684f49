using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// Converts to another dtype (float16 ↔ float32 for mixed precision); the gradient converts back.
    /// Inside a CastCache, a listed weight's copy made when the cache opened.
    public static Tensor Cast(this Tensor x, DType dtype)
    {
        if (x.DType == dtype) return x.Reshape(x.Shape);
        if (CastCache.Lookup(x, dtype) is { } cached) return cached;
        var y = Like(x, dtype: dtype);
        x.Backend.Copy(x, y);
        if (GradMode.ShouldRecord(x) && dtype.IsFloating()) y.GradFn = new CastNode(x);
        return y;
    }

    /// Cast of every x (none already in dtype) in one backend call, each with its own gradient
    /// path back; the copies are outside any tensor scope, owned by the caller (CastCache).
    internal static Tensor[] CastUnscoped(IReadOnlyList<Tensor> xs, DType dtype)
    {
        var ys = xs.Select(x => Tensor.EmptyUnscoped(x.Shape, dtype, x.Device)).ToArray();
        foreach (var on in Enumerable.Range(0, xs.Count).GroupBy(i => xs[i].Device))
            xs[on.First()].Backend.CopyMany(on.Select(i => xs[i]).ToArray(), on.Select(i => ys[i]).ToArray());
        for (int i = 0; i < xs.Count; i++)
            if (GradMode.ShouldRecord(xs[i]) && dtype.IsFloating()) ys[i].GradFn = new CastNode(xs[i]);
        return ys;
    }

    sealed class CastNode(Tensor x) : Node(x)
    {
        readonly DType inType = x.DType;

        internal override DType? TakesGradientIn => inType;

        /// A gradient already in the input's dtype (its consumer wrote it so) passes through.
        protected internal override Tensor?[] Backward(Tensor gy)
        {
            if (gy.DType == inType) return [gy.ShareStorage(gy.Shape)];
            var gx = Like(gy, dtype: inType);
            gy.Backend.Copy(gy, gx);
            return [gx];
        }
    }

    /// Copies to another device (same dtype). Not recorded: device moves happen at graph edges.
    public static Tensor To(this Tensor x, Device device)
    {
        if (x.Device == device) return x.Detach();
        var host = new byte[x.Bytes];
        x.CopyTo(host);
        var y = Tensor.Empty(x.Shape, x.DType, device);
        y.CopyFrom(host);
        return y;
    }

    /// A copy with its own storage, not attached to the graph.
    public static Tensor Clone(this Tensor x)
    {
        var y = Like(x);
        x.Backend.Copy(x, y);
        return y;
    }
}
