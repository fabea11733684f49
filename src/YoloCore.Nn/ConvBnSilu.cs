namespace YoloCore.Nn;

/// YOLOv5's "Conv" block: convolution without bias, BatchNorm, SiLU. Children are named "conv"
/// and "bn" as in YOLOv5's state dict.
public sealed class ConvBnSilu : Module
{
    public ConvBnSilu(int inChannels, int outChannels, int kernel, int stride, Rng rng, int? padding = null,
        double bnEps = 1e-3, double bnMomentum = 0.03)
    {
        Conv = RegisterModule("conv", new Conv2d(inChannels, outChannels, kernel, stride, padding ?? kernel / 2, bias: false, rng));
        Bn = RegisterModule("bn", new BatchNorm2d(outChannels, bnEps, bnMomentum));
    }

    public Conv2d Conv { get; }
    public BatchNorm2d Bn { get; }

    public override Tensor Forward(Tensor x)
    {
        using var c = Conv.Forward(x);
        if (Bn.Training && Bn.Sync is not { WorldSize: > 1 } && FusedOn(c.Device))
            return c.BatchNormSilu(Bn.Weight, Bn.Bias, Bn.RunningMean, Bn.RunningVar, Bn.Momentum, Bn.Eps);
        using var b = Bn.Forward(c);
        return b.Silu();
    }

    /// Where training runs BatchNorm and SiLU as one op. CUDA's fused kernels are compiled in CI
    /// and sit in `yolocore doctor --check`'s parity table, but have not run on a GPU yet: until
    /// they pass there, GPUs keep the two separately verified ops.
    static bool FusedOn(Device device) => device.IsCpu;
}
