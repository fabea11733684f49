using YoloCore.Nn;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// Conv-BN-SiLU ×3 and a 1×1 head: the small network of the foundation's fit and memory tests.
public sealed class TinyConvNet : Module
{
    readonly ConvBnSilu c1, c2, c3;
    readonly Conv2d head;

    public TinyConvNet(ulong seed)
    {
        var rng = new Rng(seed);
        c1 = RegisterModule("0", new ConvBnSilu(3, 8, 3, 1, rng));
        c2 = RegisterModule("1", new ConvBnSilu(8, 16, 3, 2, rng));
        c3 = RegisterModule("2", new ConvBnSilu(16, 16, 3, 1, rng));
        head = RegisterModule("3", new Conv2d(16, 2, 1, 1, 0, bias: true, rng));
    }

    public override Tensor Forward(Tensor x) => head.Forward(c3.Forward(c2.Forward(c1.Forward(x))));

    public Tensor Loss(Tensor x, Tensor target)
    {
        var d = Forward(x) - target;
        return (d * d).Mean();
    }

    public Sgd Optimizer(double lr) => new(new ParamGroup(Parameters().ToList(), lr, 0.9, 0, nesterov: true));

    /// Images [4, 12, 12, 3] and a target [4, 6, 6, 2] that is a fixed smooth function of them
    /// (local means of two colour mixes), so a conv net can learn it.
    public static (Tensor X, Tensor Target) SyntheticBatch(ulong seed)
    {
        var rng = new Rng(seed);
        var x = new double[4 * 12 * 12 * 3];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble();
        var t = new double[4 * 6 * 6 * 2];
        for (int n = 0; n < 4; n++)
            for (int h = 0; h < 6; h++)
                for (int w = 0; w < 6; w++)
                {
                    double r = 0, g = 0;
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 2; j++)
                        {
                            int o = ((n * 12 + 2 * h + i) * 12 + 2 * w + j) * 3;
                            r += x[o] - x[o + 2];
                            g += x[o + 1] * x[o];
                        }
                    t[((n * 6 + h) * 6 + w) * 2] = r / 4;
                    t[((n * 6 + h) * 6 + w) * 2 + 1] = g / 4;
                }
        return (TensorScope.Escape(Tensor.FromDoubles(x, new Shape(4, 12, 12, 3))),
                TensorScope.Escape(Tensor.FromDoubles(t, new Shape(4, 6, 6, 2))));
    }
}
