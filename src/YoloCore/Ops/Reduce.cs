using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// Sums x down to shape (which must broadcast to x's shape): the reduction behind Sum, Mean and
    /// the backward of broadcasting.
    public static Tensor SumTo(this Tensor x, Shape shape)
    {
        RequireFloating(x, "SumTo");
        Shape.Broadcast(x.Shape, shape); // validates
        if (shape.Rank > x.Rank || Shape.Broadcast(x.Shape, shape) != x.Shape)
            throw new ArgumentException($"cannot sum {x.Shape} to {shape}");
        var y = Like(x, shape);
        x.Backend.SumTo(x, y);
        if (GradMode.ShouldRecord(x)) y.GradFn = new SumToNode(x);
        return y;
    }

    /// Repeats x along its size-1 axes to the given shape.
    public static Tensor BroadcastTo(this Tensor x, Shape shape)
    {
        if (Shape.Broadcast(x.Shape, shape) != shape) throw new ArgumentException($"cannot broadcast {x.Shape} to {shape}");
        var y = Like(x, shape);
        x.Backend.BroadcastTo(x, y);
        if (GradMode.ShouldRecord(x)) y.GradFn = new BroadcastNode(x);
        return y;
    }

    /// Sum of all elements (a scalar).
    public static Tensor Sum(this Tensor x) => x.SumTo(new Shape());

    /// Mean of all elements (a scalar); the mean of an empty tensor is NaN, as in PyTorch.
    public static Tensor Mean(this Tensor x) => x.Sum() * (1.0 / x.Count);

    /// Sum over one axis; keepDim leaves it with size 1.
    public static Tensor Sum(this Tensor x, int axis, bool keepDim = false)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        var s = x.SumTo(x.Shape.With(ax, 1));
        return keepDim ? s : s.Reshape(RemoveAxis(x.Shape, ax));
    }

    public static Tensor Mean(this Tensor x, int axis, bool keepDim = false)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        return x.Sum(ax, keepDim) * (1.0 / x.Shape[ax]);
    }

    static Shape RemoveAxis(Shape s, int axis)
    {
        var d = s.ToArray().ToList();
        d.RemoveAt(axis);
        return new Shape(d.ToArray());
    }

    sealed class SumToNode(Tensor x) : Node(x)
    {
        readonly Shape inShape = x.Shape;

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var gx = Like(gy, inShape);
            gy.Backend.BroadcastTo(gy, gx);
            return [gx];
        }
    }

    sealed class BroadcastNode(Tensor x) : Node(x)
    {
        readonly Shape inShape = x.Shape;

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var gx = Like(gy, inShape);
            gy.Backend.SumTo(gy, gx);
            return [gx];
        }
    }
}
