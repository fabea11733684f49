namespace YoloCore;

/// BatchNorm's batch sums: Σx and Σx² per channel over the N·H·W rows, float64 [2, C]. A backend's
/// Conv2d writes them for its output (a GPU in the convolution's epilogue) and BatchNormSiluTrain
/// takes its statistics from them (Ops.ConvBatchNormSilu).
public static class BatchSums
{
    public static Tensor Empty(int channels, Device device) => Tensor.Empty(new Shape(2, channels), DType.Float64, device);

    public static void Check(Tensor sums, int channels)
    {
        if (sums.DType != DType.Float64 || sums.Rank != 2 || sums.Shape[0] != 2 || sums.Shape[1] != channels)
            throw new ArgumentException($"batch sums for {channels} channels are float64 [2, {channels}], got {sums}");
    }
}
