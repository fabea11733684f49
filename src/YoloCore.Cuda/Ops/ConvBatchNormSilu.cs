namespace YoloCore.Cuda;

// YOLOv5's Conv block's backward (Ops.ConvBatchNormSilu): BatchNorm + SiLU's sums, parameter
// gradients and input-gradient coefficients in one launch, then the convolution's two gradients
// in one more, computing BatchNorm's input gradient where they read it (BnGrad): no launch writes
// that gradient and nothing reads it back. Elsewhere (no implicit GEMM) the two ops' backward.
public sealed unsafe partial class CudaBackend
{
    public void ConvBatchNormSiluBackward(Tensor x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean,
        Tensor saveInvStd, Tensor? gx, Tensor? gw, Tensor? ggamma, Tensor? gbeta, bool addToGx = false)
    {
        using var coef = BackwardCoefficients(y, gy, gamma, beta, saveMean, saveInvStd, ggamma, gbeta);
        if (gx is null && gw is null) return;
        var c = Geometry(x, w, g);
        bool implicitGx = gx is not null && UsesImplicitInputGradient(x, w, c);
        bool implicitGw = gw is not null && UsesImplicitGemm(x, w, c, pointwise: true) && gw.DType is DType.Float16 or DType.Float32;
        if (gy.DType == DType.Float16 && y.DType == DType.Float16 && (gx is null || implicitGx) && (gw is null || implicitGw))
        {
            var bn = new BnGrad { X = Ptr(y), Coef = Ptr(coef) };
            if (gx is not null && gw is not null) ImplicitBackward(x, w, gy, c, gx, addToGx, gw, bn);
            else if (gx is not null) ImplicitInputGradient(w, gy, c, gx, addToGx, bn);
            else ImplicitWeightGradient(x, gy, c, w.Shape[0], gw!, bn);
            return;
        }
        using var gyConv = Tensor.Empty(y.Shape, y.DType, Device);
        InputGradient(y, gy, silu: true, coef, gyConv);
        Conv2dBackward(x, w, gyConv, g, gx, gw, null, addToGx);
    }
}
