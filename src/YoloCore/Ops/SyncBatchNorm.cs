using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// BatchNorm2d in training with statistics over every rank's batch (torch's SyncBatchNorm):
    /// per-channel sums are all-reduced before the mean and the variance are taken, and in backward
    /// Σgy and Σgy·(x - mean) are all-reduced too, so N ranks normalise exactly as one process with
    /// their combined batch. Weight and bias gradients stay local (the data-parallel reducer
    /// averages them like any other gradient).
    public static Tensor SyncBatchNorm2d(this Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, ICommunicator comm)
    {
        CheckBatchNorm("SyncBatchNorm2d", x, false, gamma, beta, runningMean, runningVar);
        int c = x.Shape[3];
        var statType = gamma.DType;
        Tensor mean, varBiased;
        double count;
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            var xs = x.Cast(statType);
            var sums = Concat([xs.SumTo(new Shape(1, 1, 1, c)).Reshape(c), Tensor.Full(new Shape(1), x.Count / c, statType, x.Device)], 0);
            comm.AllReduceSum(sums);
            count = sums.Slice(0, c, 1).Item();
            var m = sums.Slice(0, 0, c) * (1.0 / count);
            var centred = (xs - m).Square().SumTo(new Shape(1, 1, 1, c)).Reshape(c);
            comm.AllReduceSum(centred);
            var v = centred * (1.0 / count);
            mean = TensorScope.Keep(m);
            varBiased = TensorScope.Keep(v);
            // Running statistics: momentum update with the unbiased variance of the whole batch.
            using var newMean = runningMean * (1 - momentum) + m * momentum;
            using var newVar = runningVar * (1 - momentum) + v * (momentum * count / (count - 1));
            runningMean.Backend.Copy(newMean, runningMean);
            runningVar.Backend.Copy(newVar, runningVar);
        }
        var y = Like(x);
        x.Backend.BatchNormEval(x, gamma, beta, mean, varBiased, eps, y);
        if (GradMode.ShouldRecord(x, gamma, beta)) y.GradFn = new SyncBatchNormNode(x, gamma, beta, mean, varBiased, eps, count, comm);
        mean.Dispose();
        varBiased.Dispose();
        return y;
    }

    sealed class SyncBatchNormNode : Node
    {
        readonly Tensor x, gamma, mean, invStd;
        readonly double count;
        readonly ICommunicator comm;

        public SyncBatchNormNode(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor varBiased, double eps, double count, ICommunicator comm)
            : base(x, gamma, beta)
        {
            this.x = Save(x);
            this.gamma = Save(gamma);
            this.mean = Save(mean);
            using (GradMode.NoGrad())
            using (var inv = varBiased.Affine(1, eps).Pow(-0.5))
                invStd = Save(inv);
            this.count = count;
            this.comm = comm;
        }

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            using var _ = GradMode.NoGrad();
            int c = x.Shape[3];
            using var scope = TensorScope.Begin();
            var xs = x.Cast(gamma.DType);
            var gys = gy.Cast(gamma.DType);
            var xhat = (xs - mean) * invStd;
            var localGy = gys.SumTo(new Shape(1, 1, 1, c)).Reshape(c);
            var localGyXhat = (gys * xhat).SumTo(new Shape(1, 1, 1, c)).Reshape(c);
            // Input gradient with global sums: gx = γσ⁻¹(gy - Σgy/M - x̂·Σgy·x̂/M), M over all ranks.
            var both = Concat([localGy, localGyXhat], 0);
            comm.AllReduceSum(both);
            var meanGy = both.Slice(0, 0, c) * (1.0 / count);
            var meanGyXhat = both.Slice(0, c, c) * (1.0 / count);
            Tensor? gx = NeedsGrad(0) ? TensorScope.Keep((gamma * invStd * (gys - meanGy - xhat * meanGyXhat)).Cast(x.DType)) : null;
            Tensor? gg = NeedsGrad(1) ? TensorScope.Keep(localGyXhat.Clone()) : null;
            Tensor? gb = NeedsGrad(2) ? TensorScope.Keep(localGy.Clone()) : null;
            return [gx, gg, gb];
        }
    }
}
