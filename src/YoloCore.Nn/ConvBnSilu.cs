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
        using var b = Bn.Forward(c);
        return b.Silu();
    }
}
