using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// BatchNorm2d over the N, H, W axes of an NHWC tensor. In training it normalises with the
    /// batch statistics and updates the running ones in place (momentum as PyTorch defines it:
    /// running = (1 - momentum)·running + momentum·batch, with the unbiased batch variance).
    /// Statistics and affine parameters are float32 (float64 when x is float64).
    public static Tensor BatchNorm2d(this Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        bool training, double momentum, double eps)
    {
        CheckBatchNorm("BatchNorm2d", x, training, gamma, beta, runningMean, runningVar);
        var y = Like(x);
        if (!training)
        {
            x.Backend.BatchNormEval(x, gamma, beta, runningMean, runningVar, eps, y);
            if (GradMode.ShouldRecord(x, gamma, beta)) y.GradFn = new BatchNormEvalNode(x, gamma, beta, runningMean, runningVar, eps);
            return y;
        }
        var mean = Like(gamma);
        var invStd = Like(gamma);
        x.Backend.BatchNormTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, mean, invStd);
        if (GradMode.ShouldRecord(x, gamma, beta)) y.GradFn = new BatchNormTrainNode(x, gamma, beta, mean, invStd);
        mean.Dispose();
        invStd.Dispose();
        return y;
    }

    /// NHWC input, one value per channel in each parameter, and in training more than one value
    /// per channel to take statistics over.
    static void CheckBatchNorm(string op, Tensor x, bool training, params Tensor[] perChannel)
    {
        if (x.Rank != 4) throw new ArgumentException($"{op} needs NHWC input, got {x.Shape}");
        int c = x.Shape[3];
        foreach (var p in perChannel)
            if (p.Rank != 1 || p.Shape[0] != c) throw new ArgumentException($"{op} over {c} channels got a parameter of shape {p.Shape}");
        if (training && x.Count / c < 2) throw new ArgumentException($"{op} in training needs more than one value per channel, got {x.Shape}");
    }

    /// Train-mode BatchNorm's backward, or BatchNorm + SiLU's when silu (then β is needed too:
    /// the SiLU input is recomputed as x̂·γ + β).
    sealed class BatchNormTrainNode : Node
    {
        readonly Tensor x, gamma, mean, invStd;
        readonly Tensor? beta;

        /// residual (BatchNorm + SiLU only, or null): added to the output; its gradient is gy's.
        public BatchNormTrainNode(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor invStd, bool silu = false, Tensor? residual = null)
            : base(x, gamma, beta, residual)
        {
            this.x = Save(x);
            this.gamma = Save(gamma);
            this.mean = Save(mean);
            this.invStd = Save(invStd);
            if (silu) this.beta = Save(beta);
        }

        public override string Name => beta is null ? "BatchNormTrainNode" : "BatchNormSiluNode";

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var gx = NeedsGrad(0) ? Like(x) : null;
            var gg = NeedsGrad(1) ? Like(gamma) : null;
            var gb = NeedsGrad(2) ? Like(gamma) : null;
            if (beta is null) x.Backend.BatchNormBackward(x, gy, gamma, mean, invStd, gx, gg, gb);
            else x.Backend.BatchNormSiluBackward(x, gy, gamma, beta, mean, invStd, gx, gg, gb);
            return [gx, gg, gb, NeedsGrad(3) ? gy.ShareStorage(gy.Shape) : null];
        }
    }

    /// Eval mode is an affine map per channel: y = (x - rm)·γ/√(rv + eps) + β.
    sealed class BatchNormEvalNode : Node
    {
        readonly Tensor x, gamma, mean, invStd;

        public BatchNormEvalNode(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps) : base(x, gamma, beta)
        {
            this.x = Save(x);
            this.gamma = Save(gamma);
            using var _ = GradMode.NoGrad();
            using var m = runningMean.Clone();
            using var inv = runningVar.Affine(1, eps).Pow(-0.5);
            mean = Save(m);
            invStd = Save(inv);
        }

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            using var _ = GradMode.NoGrad();
            int c = x.Shape[3];
            // Statistics are float32 while activations may be float16: scale in the activations'
            // dtype for gx, sums in the statistics' dtype for the parameter gradients.
            using var scale32 = gamma * invStd;
            using var scale = scale32.Cast(x.DType);
            Tensor? gx = NeedsGrad(0) ? gy * scale : null;
            using var gyStat = gy.Cast(gamma.DType);
            Tensor? gg = null;
            if (NeedsGrad(1))
            {
                using var xStat = x.Cast(gamma.DType);
                using var xhat = (xStat - mean) * invStd;
                using var prod = gyStat * xhat;
                using var s = prod.SumTo(new Shape(1, 1, 1, c));
                gg = s.Reshape(c).Clone();
            }
            Tensor? gb = null;
            if (NeedsGrad(2))
            {
                using var s = gyStat.SumTo(new Shape(1, 1, 1, c));
                gb = s.Reshape(c).Clone();
            }
            return [gx, gg, gb];
        }
    }

    /// YOLOv5's BatchNorm2d + SiLU in training: silu(BatchNorm2d(x)), with the running statistics
    /// updated as BatchNorm2d does. One op instead of two: the normalised tensor is never stored
    /// (backward recomputes it from x), which saves memory and passes over the activations.
    public static Tensor BatchNormSilu(this Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps) => BatchNormSilu(x, gamma, beta, runningMean, runningVar, momentum, eps, null);

    /// batchSums (or null): x's Σ and Σ² per channel from the convolution that made x.
    /// residual (or null): added to the output in the same pass, silu(BatchNorm2d(x)) + residual.
    static Tensor BatchNormSilu(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor? batchSums, Tensor? residual = null)
    {
        var y = BatchNormSiluTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, batchSums, residual, out var mean, out var invStd);
        using (mean)
        using (invStd)
            if (GradMode.ShouldRecord(x, gamma, beta) || GradMode.ShouldRecord(residual)) y.GradFn = new BatchNormTrainNode(x, gamma, beta, mean, invStd, silu: true, residual);
        return y;
    }

    /// The op's forward alone (no node): the output, and the batch's mean and inverse std for
    /// backward (the caller's to dispose).
    static Tensor BatchNormSiluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor? batchSums, Tensor? residual, out Tensor mean, out Tensor invStd)
    {
        CheckBatchNorm("BatchNormSilu", x, true, gamma, beta, runningMean, runningVar);
        if (residual is not null)
        {
            if (residual.Shape != x.Shape || residual.DType != x.DType) throw new ArgumentException($"BatchNormSilu: residual {residual} for input {x}");
            RequireSameDevice(x, residual, "BatchNormSilu");
        }
        var y = Like(x);
        mean = Like(gamma);
        invStd = Like(gamma);
        x.Backend.BatchNormSiluTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, mean, invStd, batchSums, residual);
        return y;
    }
}
