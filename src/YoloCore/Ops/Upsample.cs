using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// Nearest-neighbour upsampling of NHWC by an integer factor (YOLOv5's neck uses 2).
    public static Tensor UpsampleNearest(this Tensor x, int scale)
    {
        if (x.Rank != 4 || scale < 1) throw new ArgumentException($"UpsampleNearest needs NHWC input and a positive factor, got {x.Shape} ×{scale}");
        var y = Like(x, new Shape(x.Shape[0], x.Shape[1] * scale, x.Shape[2] * scale, x.Shape[3]));
        x.Backend.UpsampleNearest(x, scale, y);
        if (GradMode.ShouldRecord(x)) y.GradFn = new UpsampleNode(x, scale);
        return y;
    }

    sealed class UpsampleNode(Tensor x, int scale) : Node(x)
    {
        readonly Shape inShape = x.Shape;

        protected internal override Tensor?[] Backward(Tensor gy) => Backward(gy, [null]);

        protected internal override Tensor?[] Backward(Tensor gy, IReadOnlyList<Tensor?> addInto)
        {
            bool add = addInto[0] is { } sum && sum.Shape == inShape && sum.DType == gy.DType;
            var gx = add ? addInto[0]! : Like(gy, inShape);
            gy.Backend.UpsampleNearestBackward(gy, scale, gx, add);
            return [gx];
        }
    }
}
