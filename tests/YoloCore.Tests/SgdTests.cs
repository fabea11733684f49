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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AdamAndAdamWStepsMatchTorchOptim(bool decoupled)
    {
        using var scope = TensorScope.Begin();
        var p = TensorScope.Escape(Tensor.FromArray([1.0, -2.0], 2));
        p.RequiresGrad = true;
        using var opt = new Adam([new ParamGroup([p], lr: 0.01, momentum: 0.9, weightDecay: 0.1, nesterov: false)], decoupled);
        double[] w = [1.0, -2.0], m = [0, 0], v = [0, 0];
        for (int t = 1; t <= 3; t++)
        {
            (p * p * p).Sum().Backward();
            opt.Step();
            opt.ZeroGrad();
            for (int i = 0; i < 2; i++)
            {
                double g = 3 * w[i] * w[i];
                if (decoupled) w[i] *= 1 - 0.01 * 0.1; else g += 0.1 * w[i];
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                double mh = m[i] / (1 - Math.Pow(0.9, t)), vh = v[i] / (1 - Math.Pow(0.999, t));
                w[i] -= 0.01 * mh / (Math.Sqrt(vh) + 1e-8);
                Assert.Equal(w[i], p.ToDoubles()[i], 10);
            }
        }
        p.Dispose();
    }
}
