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
        Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor? residual = null) =>
        ConvBlock(x, null, weight, g, gamma, beta, runningMean, runningVar, momentum, eps, residual, defer: false).Output;

    /// The same reading x as it comes: computed, or deferred by the block before (applied in the
    /// convolution's loads).
    public static Tensor ConvBatchNormSilu(this DeferredActivation x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor? residual = null) =>
        ConvBlock(x.Input, x.Map, weight, g, gamma, beta, runningMean, runningVar, momentum, eps, residual, defer: false).Output;

    /// The Conv block with its BatchNorm + SiLU left to the convolution that reads its output
    /// (DeferredActivation): the convolution, its batch sums and from them the statistics alone
    /// (IBackend.ConvBatchNormSiluDeferred: saved mean and inverse std, running statistics, the
    /// map); no pass writes the activation. Its reader must be a Conv block (ConvBatchNormSilu above).
    public static DeferredActivation ConvBatchNormSiluDeferred(this DeferredActivation x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps)
    {
        var (input, map) = ConvBlock(x.Input, x.Map, weight, g, gamma, beta, runningMean, runningVar, momentum, eps, null, defer: true);
        return DeferredActivation.Deferred(input, map!);
    }

    public static DeferredActivation ConvBatchNormSiluDeferred(this Tensor x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps) =>
        DeferredActivation.Of(x).ConvBatchNormSiluDeferred(weight, g, gamma, beta, runningMean, runningVar, momentum, eps);

    /// The value a deferred activation stands for, silu(y·scale + shift), as a tensor of its own:
    /// for a reader that cannot apply the map itself. Its gradient goes to x.Input unchanged (the
    /// producer takes the gradient at the value).
    public static Tensor Computed(this DeferredActivation x)
    {
        if (!x.IsDeferred) throw new InvalidOperationException($"{x.Input} is computed already: read it as it is");
        var y = Like(x.Input);
        x.Input.Backend.BatchNormSiluMap(x.Input, x.Map!, y);
        if (GradMode.ShouldRecord(x.Input)) y.GradFn = new ComputedNode(x.Input);
        return y;
    }

    sealed class ComputedNode(Tensor input) : Node(input)
    {
        protected internal override Tensor?[] Backward(Tensor gy) => [gy.ShareStorage(gy.Shape)];
    }

    /// The block's output (the activation, or with defer BatchNorm's input y) and with defer its map.
    static (Tensor Output, Tensor? Map) ConvBlock(Tensor x, Tensor? xMap, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor? residual, bool defer)
    {
        Tensor y, output, mean, invStd;
        Tensor? map = null;
        if (defer)
        {
            using (GradMode.NoGrad()) y = Conv2dOutput(x, weight, null, g, xMap);
            CheckBatchNorm("BatchNormSilu", y, true, gamma, beta, runningMean, runningVar);
            (mean, invStd, map) = (Like(gamma), Like(gamma), Like(gamma, new Shape(2, gamma.Shape[0])));
            x.Backend.ConvBatchNormSiluDeferred(x, xMap, weight, g, y, gamma, beta, runningMean, runningVar, momentum, eps, mean, invStd, map);
            output = y;
        }
        else
        {
            using var sums = BatchSums.Empty(weight.Shape[0], x.Device);
            using (GradMode.NoGrad()) y = Conv2d(x, weight, null, g, sums, xMap);
            output = BatchNormSiluTrain(y, gamma, beta, runningMean, runningVar, momentum, eps, sums, residual, out mean, out invStd);
        }
        using (mean)
        using (invStd)
            if (GradMode.ShouldRecord(x, weight, gamma) || GradMode.ShouldRecord(beta, residual))
                output.GradFn = new ConvBatchNormSiluNode(x, xMap, weight, g, y, gamma, beta, mean, invStd, residual);
        if (!defer) y.Dispose(); // the node keeps its own handle
        return (output, map);
    }

    /// The Conv block's backward: inputs x, weight, γ, β and the residual (its gradient is gy's).
    /// x's gradient is the gradient at its value, also where it was deferred (xMap kept, to apply
    /// it again for the weight gradient). Deferred or not, gy is the gradient at the activation.
    sealed class ConvBatchNormSiluNode : Node
    {
        readonly Tensor x, w, y, gamma, beta, mean, invStd;
        readonly Tensor? xMap;
        readonly Conv2dGeometry g;

        public ConvBatchNormSiluNode(Tensor x, Tensor? xMap, Tensor w, Conv2dGeometry g, Tensor y, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd,
            Tensor? residual) : base(x, w, gamma, beta, residual)
        {
            this.x = Save(x);
            if (xMap is not null) this.xMap = Save(xMap);
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
            x.Backend.ConvBatchNormSiluBackward(x, w, g, y, gy, gamma, beta, mean, invStd, gx, gw, gg, gb, add, xMap);
            return [gx, gw, gg, gb, NeedsGrad(4) ? gy.ShareStorage(gy.Shape) : null];
        }
    }
}
