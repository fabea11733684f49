namespace YoloCore.Cuda;

// YOLOv5's Conv block's backward (Ops.ConvBatchNormSilu): BatchNorm + SiLU's sums, parameter
// gradients and input-gradient coefficients in one launch, then the convolution's two gradients
// in one more, computing BatchNorm's input gradient where they read it (BnGrad): no launch writes
// that gradient and nothing reads it back; the weight gradient reads the input's parts where they
// lie, computing deferred ones as it loads them (XParts), and the input gradient writes each
// part's (OutParts). Elsewhere (no implicit GEMM) the two ops' backward, the concatenation's
// input gradient split after.
public sealed unsafe partial class CudaBackend
{
    public void ConvBatchNormSiluBackward(ConvInput input, Tensor w, Conv2dGeometry g, Tensor y, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean,
        Tensor saveInvStd, IReadOnlyList<Tensor?> gxs, Tensor? gw, Tensor? ggamma, Tensor? gbeta, IReadOnlyList<bool> addToGx)
    {
        using var coef = BackwardCoefficients(y, gy, gamma, beta, saveMean, saveInvStd, ggamma, gbeta);
        bool anyGx = gxs.Any(t => t is not null), single = input.Parts.Count == 1;
        if (!anyGx && gw is null) return;
        var x = input.First;
        var c = Geometry(input.Shape, w, g);
        bool implicitGx = anyGx && UsesImplicitInputGradient(x, w, c);
        bool implicitGw = gw is not null && UsesImplicitGemm(x, w, c, pointwise: true) && gw.DType is DType.Float16 or DType.Float32;
        if (gy.DType == DType.Float16 && y.DType == DType.Float16 && (!anyGx || implicitGx) && (gw is null || implicitGw) && (input.IsPlain || ReadsInPlace(input)))
        {
            var bn = new BnGrad { X = Ptr(y), Coef = Ptr(coef) };
            var xin = gw is null ? default : Parts(input);
            if (!single)
            {
                // Each part's gradient written (or added) by the input gradient itself; the two gradients apart.
                if (anyGx) ImplicitInputGradient(w, gy, c, gxs, addToGx, [.. input.Parts.Select(p => p.Shape[3])], bn);
                if (gw is not null) ImplicitWeightGradient(x, gy, c, w.Shape[0], gw, bn, xin);
            }
            else if (anyGx && gw is not null) ImplicitBackward(x, w, gy, c, gxs[0]!, addToGx[0], gw, bn, xin);
            else if (anyGx) ImplicitInputGradient(w, gy, c, gxs[0]!, addToGx[0], bn);
            else ImplicitWeightGradient(x, gy, c, w.Shape[0], gw!, bn, xin);
            return;
        }
        using var gyConv = Tensor.Empty(y.Shape, y.DType, Device);
        InputGradient(y, gy, silu: true, coef, gyConv);
        input.JoinedBackward(this, w, gyConv, g, gxs, gw, addToGx);
    }

    /// Whether the implicit GEMM's loads can read x's parts where they lie (XParts): float16, at
    /// most four parts, each with channels in runs of 8 (a 16-byte segment is one pixel's), float32 maps.
    static bool ReadsInPlace(ConvInput x) =>
        x.Parts.Count <= XParts.Max && x.Parts.All(p => p.DType == DType.Float16 && p.Shape[3] % 8 == 0) && x.Maps.All(m => m is null || m.DType == DType.Float32);

    /// conv2d_implicit.cuh's XParts for x: none (count 0: x read as it is) where it is one computed tensor.
    static XParts Parts(ConvInput x)
    {
        if (x.IsPlain) return default;
        var parts = new XParts { Count = x.Parts.Count };
        for (int i = 0; i < x.Parts.Count; i++) parts.Set(i, Ptr(x.Parts[i]), PtrOrNull(x.Maps[i]), x.Parts[i].Shape[3]);
        return parts;
    }
}
