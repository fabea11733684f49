using YoloCore.Training;

namespace YoloCore.Tests;

public class SgdTests
{
    [Fact]
    public void NesterovStepsMatchTorchOptimSgd()
    {
        using var scope = TensorScope.Begin();
        var p = TensorScope.Escape(Tensor.FromArray([1.0, -2.0], 2));
        p.RequiresGrad = true;
        using var opt = new Sgd(new ParamGroup([p], lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true));
        double[] w = [1.0, -2.0], buf = [0, 0];
        for (int step = 0; step < 3; step++)
        {
            (p * p * p).Sum().Backward(); // grad = 3p²
            opt.Step();
            opt.ZeroGrad();
            for (int i = 0; i < 2; i++)
            {
                double g = 3 * w[i] * w[i] + 0.01 * w[i];
                buf[i] = 0.9 * buf[i] + g;
                w[i] -= 0.1 * (g + 0.9 * buf[i]);
            }
            Assert.Equal(w[0], p.ToDoubles()[0], 12);
            Assert.Equal(w[1], p.ToDoubles()[1], 12);
        }
        p.Dispose();
    }

    [Fact]
    public void ParametersWithoutGradientsAreLeftAlone()
    {
        using var scope = TensorScope.Begin();
        var p = Tensor.FromArray([1f], 1);
        p.RequiresGrad = true;
        using var opt = new Sgd(new ParamGroup([p], 0.1, 0.9, 0.5, true));
        opt.Step();
        Assert.Equal(1f, p.ToArray<float>()[0]);
        Assert.Null(opt.MomentumBuffer(p));
    }
}
