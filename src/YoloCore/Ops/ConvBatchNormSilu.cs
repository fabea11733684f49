namespace YoloCore;

public static partial class Ops
{
    /// YOLOv5's Conv block in training: silu(BatchNorm2d(conv(x, weight))) with batch statistics,
    /// the running ones updated as BatchNorm2d does. The same two autograd nodes as Conv2d then
    /// BatchNormSilu, but BatchNorm's batch sums (Σy, Σy² per channel) come out of the convolution,
    /// which a GPU adds up in its epilogue, so nothing reads the convolution's output just for the
    /// statistics. The variance is Σy²/M - mean², in double from the sums. residual (or null) is
    /// added to the output in the same pass: a Bottleneck's x + cv2(cv1(x)) with no Add of its own.
    public static Tensor ConvBatchNormSilu(this Tensor x, Tensor weight, Conv2dGeometry g, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor? residual = null)
    {
        using var sums = BatchSums.Empty(weight.Shape[0], x.Device);
        using var y = Conv2d(x, weight, null, g, sums);
        return BatchNormSilu(y, gamma, beta, runningMean, runningVar, momentum, eps, sums, residual);
    }
}
