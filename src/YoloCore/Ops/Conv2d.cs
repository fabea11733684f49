using YoloCore.Autograd;

namespace YoloCore;

/// Convolution geometry (square kernels are the common case, but any kh, kw works).
public readonly record struct Conv2dGeometry(int StrideH, int StrideW, int PadH, int PadW)
{
    public static Conv2dGeometry Square(int stride, int pad) => new(stride, stride, pad, pad);

    public int OutH(int h, int kh) => (h + 2 * PadH - kh) / StrideH + 1;
    public int OutW(int w, int kw) => (w + 2 * PadW - kw) / StrideW + 1;
}

public static partial class Ops
{
    /// 2-D convolution of NHWC x [N, H, W, Cin] with OHWI weight [Cout, kh, kw, Cin] and an
    /// optional bias [Cout]; output [N, Ho, Wo, Cout].
    public static Tensor Conv2d(this Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0) =>
        x.Conv2d(weight, bias, Conv2dGeometry.Square(stride, padding));

    public static Tensor Conv2d(this Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry g) => Conv2d(x, weight, bias, g, null);

    /// batchSums (float64 [2, Cout], or null) also receives Σy and Σy² per channel (ConvBatchNormSilu);
    /// xMap (or null, without a node): x is a deferred BatchNorm + SiLU's input (IBackend.Conv2d).
    static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry g, Tensor? batchSums)
    {
        var y = Conv2dOutput(x, x.Shape, weight, bias, g);
        x.Backend.Conv2d(x, weight, bias, g, y, batchSums);
        if (GradMode.ShouldRecord(x, weight, bias)) y.GradFn = new Conv2dNode(x, weight, bias, g);
        return y;
    }

    /// The checked output tensor of a convolution of input shape `shape` (x's, or its parts'
    /// side by side; x gives the device and dtype), not yet computed.
    static Tensor Conv2dOutput(Tensor x, Shape shape, Tensor weight, Tensor? bias, Conv2dGeometry g)
    {
        if (shape.Rank != 4 || weight.Rank != 4) throw new ArgumentException($"Conv2d needs NHWC input and OHWI weight, got {shape} and {weight.Shape}");
        RequireSameDevice(x, weight, "Conv2d");
        int n = shape[0], h = shape[1], w = shape[2], cin = shape[3];
        int cout = weight.Shape[0], kh = weight.Shape[1], kw = weight.Shape[2];
        if (weight.Shape[3] != cin) throw new ArgumentException($"Conv2d: input has {cin} channels, weight {weight.Shape} expects {weight.Shape[3]}");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != cout)) throw new ArgumentException($"Conv2d: bias {bias.Shape} for {cout} output channels");
        int ho = g.OutH(h, kh), wo = g.OutW(w, kw);
        if (ho <= 0 || wo <= 0) throw new ArgumentException($"Conv2d: {kh}×{kw} kernel with {g} leaves no output for {h}×{w} input");
        return Like(x, new Shape(n, ho, wo, cout));
    }

    sealed class Conv2dNode : Node
    {
        readonly Tensor x, w;
        readonly Shape? biasShape;
        readonly Conv2dGeometry g;

        public Conv2dNode(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g) : base(x, w, bias)
        {
            this.x = Save(x);
            this.w = Save(w);
            biasShape = bias?.Shape;
            this.g = g;
        }

        protected internal override Tensor?[] Backward(Tensor gy) => Backward(gy, [null, null, null]);

        /// x's gradient is added into what x's other consumers gave, when the engine offers it.
        protected internal override Tensor?[] Backward(Tensor gy, IReadOnlyList<Tensor?> addInto)
        {
            bool add = addInto[0] is { } sum && sum.Shape == x.Shape && sum.DType == x.DType;
            var gx = add ? addInto[0] : NeedsGrad(0) ? Like(x) : null;
            // Weight and bias gradients in their masters' dtype where they are casts of them.
            var gw = NeedsGrad(1) ? Like(w, dtype: GradientDType(1, w.DType)) : null;
            var gb = NeedsGrad(2) ? Like(gy, biasShape, GradientDType(2, gy.DType)) : null;
            x.Backend.Conv2dBackward(x, w, gy, g, gx, gw, gb, add);
            return [gx, gw, gb];
        }
    }
}
