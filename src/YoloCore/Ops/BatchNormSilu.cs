using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    /// YOLOv5's BatchNorm2d + SiLU in training: silu(BatchNorm2d(x)), with the running statistics
    /// updated as BatchNorm2d does. One op instead of two: the normalised tensor is never stored
    /// (backward recomputes it from x), which saves memory and passes over the activations.
    public static Tensor BatchNormSilu(this Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps)
    {
        CheckBatchNorm("BatchNormSilu", x, true, gamma, beta, runningMean, runningVar);
        var y = Like(x);
        using var mean = Like(gamma);
        using var invStd = Like(gamma);
        x.Backend.BatchNormSiluTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, mean, invStd);
        if (GradMode.ShouldRecord(x, gamma, beta)) y.GradFn = new BatchNormTrainNode(x, gamma, beta, mean, invStd, silu: true);
        return y;
    }
}
