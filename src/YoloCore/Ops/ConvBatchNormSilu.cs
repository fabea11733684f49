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
        ConvBlock(ConvInput.Of(x), weight, g, gamma, beta, runningMean, runningVar, momentum, eps, residual, defer: false).Output;

    /// The same reading x as the modules before left it: computed, deferred by the block before
    /// (applied in the convolution's loads), or several parts side by side (read where they lie).
    public static Tensor ConvBatchNormSilu(this DeferredActivation x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor? residual = null) =>
        ConvBlock(x.AsInput(), weight, g, gamma, beta, runningMean, runningVar, momentum, eps, residual, defer: false).Output;

    /// The Conv block with its BatchNorm + SiLU left to the convolution that reads its output
    /// (DeferredActivation): the convolution, its batch sums and from them the statistics alone
    /// (IBackend.ConvBatchNormSiluDeferred: saved mean and inverse std, running statistics, the
    /// map); no pass writes the activation. Its reader must be a Conv block (ConvBatchNormSilu above).
    public static DeferredActivation ConvBatchNormSiluDeferred(this DeferredActivation x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps)
    {
        var (input, map) = ConvBlock(x.AsInput(), weight, g, gamma, beta, runningMean, runningVar, momentum, eps, null, defer: true);
        return DeferredActivation.Deferred(input, map!);
    }

    public static DeferredActivation ConvBatchNormSiluDeferred(this Tensor x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps) =>
        DeferredActivation.Of(x).ConvBatchNormSiluDeferred(weight, g, gamma, beta, runningMean, runningVar, momentum, eps);

    /// The value x stands for as a tensor of its own (each deferred part's silu(y·scale + shift),
    /// the parts concatenated): for a reader that cannot read it in place. Each part's gradient
    /// goes to its tensor unchanged (a deferred part's producer takes the gradient at the value).
    public static Tensor Computed(this DeferredActivation x)
    {
        if (!x.IsDeferred) throw new InvalidOperationException($"{x.Input} is computed already: read it as it is");
        var values = x.Parts.Select(p =>
        {
            if (p.Map is null) return p.Input;
            var y = Like(p.Input);
            p.Input.Backend.BatchNormSiluMap(p.Input, p.Map, y);
            if (GradMode.ShouldRecord(p.Input)) y.GradFn = new ComputedNode(p.Input);
            return y;
        }).ToList();
        if (values.Count == 1) return values[0];
        var joined = Concat(values, -1);
        for (int i = 0; i < values.Count; i++)
            if (x.Parts[i].Map is not null) values[i].Dispose();
        return joined;
    }

    sealed class ComputedNode(Tensor input) : Node(input)
    {
        protected internal override Tensor?[] Backward(Tensor gy) => [gy.ShareStorage(gy.Shape)];
    }

    /// The block's output (the activation, or with defer BatchNorm's input y) and with defer its map.
    static (Tensor Output, Tensor? Map) ConvBlock(ConvInput x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor? residual, bool defer)
    {
        var first = x.First;
        foreach (var (part, map) in x.Parts.Zip(x.Maps))
        {
            RequireSameDevice(first, part, "ConvBatchNormSilu");
            if (part.DType != first.DType || part.Rank != 4 || first.Rank != 4 || Enumerable.Range(0, 3).Any(d => part.Shape[d] != first.Shape[d]))
                throw new ArgumentException($"ConvBatchNormSilu: input parts {string.Join(", ", x.Parts.Select(t => t.ToString()))} do not lie side by side");
            if (map is not null && map.Shape != new Shape(2, part.Shape[3]))
                throw new ArgumentException($"ConvBatchNormSilu: a deferred part's map is [2, {part.Shape[3]}], got {map}");
        }
        Tensor y, output, mean, invStd;
        Tensor? outMap = null;
        using (GradMode.NoGrad()) y = Conv2dOutput(first, x.Shape, weight, null, g);
        using var sums = defer ? null : BatchSums.Empty(weight.Shape[0], first.Device);
        if (defer)
        {
            CheckBatchNorm("BatchNormSilu", y, true, gamma, beta, runningMean, runningVar);
            (mean, invStd, outMap) = (Like(gamma), Like(gamma), Like(gamma, new Shape(2, gamma.Shape[0])));
            first.Backend.ConvBatchNormSiluDeferred(x, weight, g, y, gamma, beta, runningMean, runningVar, momentum, eps, mean, invStd, outMap);
            output = y;
        }
        else
        {
            if (x.IsPlain) first.Backend.Conv2d(first, weight, null, g, y, sums);
            else first.Backend.Conv2d(x, weight, g, y, sums!);
            output = BatchNormSiluTrain(y, gamma, beta, runningMean, runningVar, momentum, eps, sums, residual, out mean, out invStd);
        }
        using (mean)
        using (invStd)
            if (x.Parts.Any(p => GradMode.ShouldRecord(p)) || GradMode.ShouldRecord(weight, gamma) || GradMode.ShouldRecord(beta, residual))
                output.GradFn = new ConvBatchNormSiluNode(x, weight, g, y, gamma, beta, mean, invStd, residual);
        if (!defer) y.Dispose(); // the node keeps its own handle
        return (output, outMap);
    }

    /// The Conv block's backward: inputs x's parts, the weight, γ, β and the residual (its gradient
    /// is gy's). A part's gradient is the gradient at its value, also where it was deferred (its map
    /// kept, to apply it again for the weight gradient); deferred or not, gy is the gradient at the
    /// activation.
    sealed class ConvBatchNormSiluNode : Node
    {
        readonly ConvInput x;
        readonly Tensor w, y, gamma, beta, mean, invStd;
        readonly Conv2dGeometry g;
        readonly int parts;

        public ConvBatchNormSiluNode(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd,
            Tensor? residual) : base([.. x.Parts, w, gamma, beta, residual])
        {
            parts = x.Parts.Count;
            this.x = new ConvInput(x.Parts.Select(Save).ToArray(), x.Maps.Select(m => m is null ? null : Save(m)).ToArray());
            this.w = Save(w);
            this.y = Save(y);
            this.gamma = Save(gamma);
            this.beta = Save(beta);
            this.mean = Save(mean);
            this.invStd = Save(invStd);
            this.g = g;
        }

        protected internal override Tensor?[] Backward(Tensor gy) => Backward(gy, new Tensor?[parts + 4]);

        /// A part's gradient is added into what its other consumers gave, when the engine offers it.
        protected internal override Tensor?[] Backward(Tensor gy, IReadOnlyList<Tensor?> addInto)
        {
            var gx = new Tensor?[parts];
            var add = new bool[parts];
            for (int i = 0; i < parts; i++)
            {
                var part = x.Parts[i];
                add[i] = addInto[i] is { } sum && sum.Shape == part.Shape && sum.DType == part.DType;
                gx[i] = add[i] ? addInto[i] : NeedsGrad(i) ? Like(part) : null;
            }
            var gw = NeedsGrad(parts) ? Like(w, dtype: GradientDType(parts, w.DType)) : null;
            var gg = NeedsGrad(parts + 1) ? Like(gamma) : null;
            var gb = NeedsGrad(parts + 2) ? Like(gamma) : null;
            x.First.Backend.ConvBatchNormSiluBackward(x, w, g, y, gy, gamma, beta, mean, invStd, gx, gw, gg, gb, add);
            return [.. gx, gw, gg, gb, NeedsGrad(parts + 3) ? gy.ShareStorage(gy.Shape) : null];
        }
    }
}
