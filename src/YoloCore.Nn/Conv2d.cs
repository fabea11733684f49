namespace YoloCore.Nn;

/// A 2-D convolution layer: NHWC input, OHWI weight [Cout, k, k, Cin], optional bias. Initialised
/// as torch.nn.Conv2d is (kaiming-uniform with a = √5, i.e. U(±1/√fan_in), bias likewise).
public sealed class Conv2d : Module
{
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, bool bias, Rng rng)
    {
        Stride = stride;
        Padding = padding;
        int fanIn = inChannels * kernel * kernel;
        double bound = 1 / Math.Sqrt(fanIn);
        Weight = RegisterParameter("weight", Tensor.Uniform(new Shape(outChannels, kernel, kernel, inChannels), rng, -bound, bound));
        if (bias) Bias = RegisterParameter("bias", Tensor.Uniform(new Shape(outChannels), rng, -bound, bound));
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public int Stride { get; }
    public int Padding { get; }

    /// Every convolution's weight and bias under root: what mixed precision casts once per forward
    /// pass, all in one call (CastCache).
    public static IReadOnlyList<Tensor> Weights(Module root) =>
        root.NamedModules().Select(m => m.Module).OfType<Conv2d>()
            .SelectMany(c => c.Bias is null ? [c.Weight] : new[] { c.Weight, c.Bias }).ToList();

    /// Mixed precision the way autocast does it: the float32 master weight is cast to the
    /// activations' dtype inside the graph (or taken from the forward's CastCache), so its
    /// gradient arrives back in float32.
    public override Tensor Forward(Tensor x)
    {
        if (x.DType == Weight.DType) return x.Conv2d(Weight, Bias, Stride, Padding);
        using var w = Weight.Cast(x.DType);
        using var b = Bias?.Cast(x.DType);
        return x.Conv2d(w, b, Stride, Padding);
    }
}
