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
        if (x.Rank != 4) throw new ArgumentException($"BatchNormSilu needs NHWC input, got {x.Shape}");
        int c = x.Shape[3];
        foreach (var p in new[] { gamma, beta, runningMean, runningVar })
            if (p.Rank != 1 || p.Shape[0] != c) throw new ArgumentException($"BatchNormSilu over {c} channels got a parameter of shape {p.Shape}");
        if (x.Count / c < 2) throw new ArgumentException($"BatchNorm2d in training needs more than one value per channel, got {x.Shape}");
        var y = Like(x);
        using var mean = Like(gamma);
        using var invStd = Like(gamma);
        x.Backend.BatchNormSiluTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, mean, invStd);
        if (GradMode.ShouldRecord(x, gamma, beta)) y.GradFn = new BatchNormTrainNode(x, gamma, beta, mean, invStd, silu: true);
        return y;
    }
}
