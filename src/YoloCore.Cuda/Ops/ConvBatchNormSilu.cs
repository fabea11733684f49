namespace YoloCore.Cuda;

// YOLOv5's Conv block's backward (Ops.ConvBatchNormSilu): BatchNorm + SiLU's sums, parameter
// gradients and input-gradient coefficients in one launch, then the convolution's two gradients
// in one more, computing BatchNorm's input gradient where they read it (BnGrad): no launch writes
// that gradient and nothing reads it back; a deferred input (xMap) is computed where the weight
// gradient reads it (BnApply). Elsewhere (no implicit GEMM) the two ops' backward.
public sealed unsafe partial class CudaBackend
{
    public void ConvBatchNormSiluBackward(Tensor x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean,
        Tensor saveInvStd, Tensor? gx, Tensor? gw, Tensor? ggamma, Tensor? gbeta, bool addToGx = false, Tensor? xMap = null)
    {
        using var coef = BackwardCoefficients(y, gy, gamma, beta, saveMean, saveInvStd, ggamma, gbeta);
        if (gx is null && gw is null) return;
        var c = Geometry(x, w, g);
        bool implicitGx = gx is not null && UsesImplicitInputGradient(x, w, c);
        bool implicitGw = gw is not null && UsesImplicitGemm(x, w, c, pointwise: true) && gw.DType is DType.Float16 or DType.Float32;
        bool inLoads = xMap is null || gw is null || AppliesInLoads(x, xMap);
        if (gy.DType == DType.Float16 && y.DType == DType.Float16 && (gx is null || implicitGx) && (gw is null || implicitGw) && inLoads)
        {
            var bn = new BnGrad { X = Ptr(y), Coef = Ptr(coef) };
            var xin = new BnApply { Map = gw is null ? 0 : PtrOrNull(xMap) };
            if (gx is not null && gw is not null) ImplicitBackward(x, w, gy, c, gx, addToGx, gw, bn, xin);
            else if (gx is not null) ImplicitInputGradient(w, gy, c, gx, addToGx, bn);
            else ImplicitWeightGradient(x, gy, c, w.Shape[0], gw!, bn, xin);
            return;
        }
        using var applied = xMap is null || gw is null ? null : Applied(x, xMap);
        using var gyConv = Tensor.Empty(y.Shape, y.DType, Device);
        InputGradient(y, gy, silu: true, coef, gyConv);
        Conv2dBackward(applied ?? x, w, gyConv, g, gx, gw, null, addToGx);
    }

    /// Whether the implicit GEMM's loads can apply xMap to x: float16, channels in runs of 8 (a
    /// 16-byte segment is one pixel's), a float32 map.
    static bool AppliesInLoads(Tensor x, Tensor xMap) => x.DType == DType.Float16 && x.Shape[3] % 8 == 0 && xMap.DType == DType.Float32;

    /// x with its deferred BatchNorm + SiLU applied, where a kernel cannot do it in its loads.
    Tensor Applied(Tensor x, Tensor xMap)
    {
        var applied = Tensor.Empty(x.Shape, x.DType, Device);
        BatchNormSiluMap(x, xMap, applied);
        return applied;
    }
}
