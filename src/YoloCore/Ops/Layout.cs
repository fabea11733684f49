using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// Same data, new shape (no copy). One dimension may be -1.
    public static Tensor Reshape(this Tensor x, params int[] dims)
    {
        var shape = InferShape(x, dims);
        var y = x.ShareStorage(shape);
        if (GradMode.ShouldRecord(x)) y.GradFn = new ReshapeNode(x);
        return y;
    }

    public static Tensor Reshape(this Tensor x, Shape shape) => x.Reshape(shape.ToArray());

    static Shape InferShape(Tensor x, int[] dims)
    {
        int infer = Array.IndexOf(dims, -1);
        var d = (int[])dims.Clone();
        if (infer >= 0)
        {
            long known = 1;
            for (int i = 0; i < d.Length; i++) if (i != infer) known *= d[i];
            if (known == 0 || x.Count % known != 0) throw new ArgumentException($"cannot reshape {x.Shape} to [{string.Join(", ", dims)}]");
            d[infer] = (int)(x.Count / known);
        }
        var s = new Shape(d);
        if (s.Count != x.Count) throw new ArgumentException($"cannot reshape {x.Shape} ({x.Count} elements) to {s}");
        return s;
    }

    sealed class ReshapeNode(Tensor x) : Node(x)
    {
        readonly Shape inShape = x.Shape;
        protected internal override Tensor?[] Backward(Tensor gy) => [gy.ShareStorage(inShape)];
    }

    /// Reorders axes (copies: tensors are always contiguous). y.shape[i] = x.shape[perm[i]].
    public static Tensor Permute(this Tensor x, params int[] permutation)
    {
        if (permutation.Length != x.Rank || permutation.Distinct().Count() != x.Rank || permutation.Any(p => p < 0 || p >= x.Rank))
            throw new ArgumentException($"[{string.Join(", ", permutation)}] is not a permutation of {x.Rank} axes");
        var dims = new int[x.Rank];
        for (int i = 0; i < dims.Length; i++) dims[i] = x.Shape[permutation[i]];
        var y = Like(x, new Shape(dims));
        x.Backend.Permute(x, permutation, y);
        if (GradMode.ShouldRecord(x)) y.GradFn = new PermuteNode(x, permutation);
        return y;
    }

    sealed class PermuteNode(Tensor x, int[] permutation) : Node(x)
    {
        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var inverse = new int[permutation.Length];
            for (int i = 0; i < inverse.Length; i++) inverse[permutation[i]] = i;
            using var _ = GradMode.NoGrad();
            return [gy.Permute(inverse)];
        }
    }

    /// Joins tensors along an axis (channels are the last axis in NHWC).
    public static Tensor Concat(IReadOnlyList<Tensor> xs, int axis)
    {
        if (xs.Count == 0) throw new ArgumentException("Concat needs at least one tensor");
        int ax = xs[0].Shape.NormalizeAxis(axis);
        int total = 0;
        foreach (var t in xs)
        {
            RequireSameDevice(xs[0], t, "Concat");
            if (t.Rank != xs[0].Rank || !Enumerable.Range(0, t.Rank).All(i => i == ax || t.Shape[i] == xs[0].Shape[i]))
                throw new ArgumentException($"Concat along axis {ax}: {t.Shape} does not match {xs[0].Shape}");
            total += t.Shape[ax];
        }
        var y = Like(xs[0], xs[0].Shape.With(ax, total));
        xs[0].Backend.Concat(xs, ax, y);
        if (GradMode.ShouldRecord(xs)) y.GradFn = new ConcatNode(xs, ax);
        return y;
    }

    sealed class ConcatNode : Node
    {
        readonly int axis;
        readonly int[] sizes;

        public ConcatNode(IReadOnlyList<Tensor> xs, int axis) : base(xs.ToArray())
        {
            this.axis = axis;
            sizes = xs.Select(t => t.Shape[axis]).ToArray();
        }

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var grads = new Tensor?[sizes.Length];
            for (int i = 0; i < sizes.Length; i++)
                if (NeedsGrad(i)) grads[i] = Like(gy, gy.Shape.With(axis, sizes[i]));
            gy.Backend.Split(gy, axis, sizes, grads);
            return grads;
        }
    }

    /// x[..., start : start + length, ...] along axis (a copy).
    public static Tensor Slice(this Tensor x, int axis, int start, int length)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        if (start < 0 || length < 0 || start + length > x.Shape[ax])
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start + length}) of axis {ax} in {x.Shape}");
        var y = Like(x, x.Shape.With(ax, length));
        x.Backend.Slice(x, ax, start, y);
        if (GradMode.ShouldRecord(x)) y.GradFn = new SliceNode(x, ax, start);
        return y;
    }

    sealed class SliceNode(Tensor x, int axis, int start) : Node(x)
    {
        readonly Shape inShape = x.Shape;

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var gx = Tensor.Zeros(inShape, gy.DType, gy.Device);
            gy.Backend.SliceAdd(gy, axis, start, gx);
            return [gx];
        }
    }

    /// Splits along an axis into pieces of the given sizes (as torch.split).
    public static Tensor[] Split(this Tensor x, int axis, params int[] sizes)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        if (sizes.Sum() != x.Shape[ax]) throw new ArgumentException($"split sizes [{string.Join(", ", sizes)}] do not add up to {x.Shape[ax]}");
        var r = new Tensor[sizes.Length];
        int start = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            r[i] = x.Slice(ax, start, sizes[i]);
            start += sizes[i];
        }
        return r;
    }
}
