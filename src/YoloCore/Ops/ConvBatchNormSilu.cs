using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// YOLOv5's Conv block in training: silu(BatchNorm2d(conv(x, weight))) with batch statistics,
    /// the running ones updated as BatchNorm2d does. BatchNorm's batch sums (Σy, Σy² per channel)
    /// come out of the convolution, which a GPU adds up in its epilogue, so nothing reads the
    /// convolution's output just for the statistics; the variance is Σy²/M - mean², in double from
    /// the sums. One autograd node for the block, whose backward a GPU runs as BatchNorm's sums
    /// and then the convolution's gradients computing BatchNorm's input gradient as they read it
    /// (IBackend.ConvBatchNormSiluBackward). residual (or null) is added to the output in the same
    /// pass: a Bottleneck's x + cv2(cv1(x)) with no Add of its own.
    public static Tensor ConvBatchNormSilu(this Tensor x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor? residual = null)
    {
        using var sums = BatchSums.Empty(weight.Shape[0], x.Device);
        Tensor y;
        using (GradMode.NoGrad()) y = Conv2d(x, weight, null, g, sums);
        using (y)
        {
            var output = BatchNormSiluTrain(y, gamma, beta, runningMean, runningVar, momentum, eps, sums, residual, out var mean, out var invStd);
            using (mean)
            using (invStd)
                if (GradMode.ShouldRecord(x, weight, gamma) || GradMode.ShouldRecord(beta, residual))
                    output.GradFn = new ConvBatchNormSiluNode(x, weight, g, y, gamma, beta, mean, invStd, residual);
            return output;
        }
    }

    /// The Conv block's backward: inputs x, weight, γ, β and the residual (its gradient is gy's).
    sealed class ConvBatchNormSiluNode : Node
    {
        readonly Tensor x, w, y, gamma, beta, mean, invStd;
        readonly Conv2dGeometry g;

        public ConvBatchNormSiluNode(Tensor x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd, Tensor? residual)
            : base(x, w, gamma, beta, residual)
        {
            this.x = Save(x);
            this.w = Save(w);
            this.y = Save(y);
            this.gamma = Save(gamma);
            this.beta = Save(beta);
            this.mean = Save(mean);
            this.invStd = Save(invStd);
            this.g = g;
        }

        protected internal override Tensor?[] Backward(Tensor gy) => Backward(gy, [null, null, null, null, null]);

        /// x's gradient is added into what x's other consumers gave, when the engine offers it.
        protected internal override Tensor?[] Backward(Tensor gy, IReadOnlyList<Tensor?> addInto)
        {
            bool add = addInto[0] is { } sum && sum.Shape == x.Shape && sum.DType == x.DType;
            var gx = add ? addInto[0] : NeedsGrad(0) ? Like(x) : null;
            var gw = NeedsGrad(1) ? Like(w, dtype: GradientDType(1, w.DType)) : null;
            var gg = NeedsGrad(2) ? Like(gamma) : null;
            var gb = NeedsGrad(3) ? Like(gamma) : null;
            x.Backend.ConvBatchNormSiluBackward(x, w, g, y, gy, gamma, beta, mean, invStd, gx, gw, gg, gb, add);
            return [gx, gw, gg, gb, NeedsGrad(4) ? gy.ShareStorage(gy.Shape) : null];
        }
    }
}
