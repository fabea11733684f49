using YoloCore.Autograd;

namespace YoloCore;

/// Max-pooling geometry: a square kernel, its stride and padding.
public readonly record struct Pool2dGeometry(int Kernel, int Stride, int Pad)
{
    public int Out(int size) => (size + 2 * Pad - Kernel) / Stride + 1;
}

public static partial class Ops
{
    /// Max-pooling over H and W of NHWC, padded with -inf (SPPF uses kernel 5, stride 1, pad 2).
    public static Tensor MaxPool2d(this Tensor x, int kernel, int stride, int padding)
    {
        if (x.Rank != 4) throw new ArgumentException($"MaxPool2d needs NHWC input, got {x.Shape}");
        var g = new Pool2dGeometry(kernel, stride, padding);
        if (padding * 2 > kernel) throw new ArgumentException($"MaxPool2d: padding {padding} is more than half the kernel {kernel}");
        int ho = g.Out(x.Shape[1]), wo = g.Out(x.Shape[2]);
        if (ho <= 0 || wo <= 0) throw new ArgumentException($"MaxPool2d: kernel {kernel} leaves no output for {x.Shape}");
        var y = Like(x, new Shape(x.Shape[0], ho, wo, x.Shape[3]));
        var argmax = Like(x, y.Shape, DType.Int32);
        x.Backend.MaxPool2d(x, g, y, argmax);
        if (GradMode.ShouldRecord(x)) y.GradFn = new MaxPoolNode(x, argmax, g);
        argmax.Dispose();
        return y;
    }

    sealed class MaxPoolNode : Node
    {
        readonly Tensor argmax;
        readonly Shape inShape;
        readonly Pool2dGeometry g;

        public MaxPoolNode(Tensor x, Tensor argmax, Pool2dGeometry g) : base(x)
        {
            this.argmax = Save(argmax);
            inShape = x.Shape;
            this.g = g;
        }

        protected internal override Tensor?[] Backward(Tensor gy) => Backward(gy, [null]);

        protected internal override Tensor?[] Backward(Tensor gy, IReadOnlyList<Tensor?> addInto)
        {
            bool add = addInto[0] is { } sum && sum.Shape == inShape && sum.DType == gy.DType;
            var gx = add ? addInto[0]! : Like(gy, inShape);
            gy.Backend.MaxPool2dBackward(gy, argmax, g, gx, add);
            return [gx];
        }
    }
}
