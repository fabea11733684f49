using YoloCore.Cli.Commands;

namespace YoloCore.Tests;

public class FitTests
{
    [Fact]
    public void ConvBnSiluNetworkFitsASyntheticTarget()
    {
        using var net = new TinyConvNet(seed: 1);
        using var opt = net.Optimizer(lr: 0.05);
        var (x, target) = TinyConvNet.SyntheticBatch(seed: 2);
        double first = 0, last = 0;
        const int steps = 60;
        for (int step = 0; step < steps; step++)
        {
            using var scope = TensorScope.Begin();
            var loss = net.Loss(x, target);
            double v = loss.Item();
            Assert.True(double.IsFinite(v), $"loss became {v} at step {step}");
            if (step == 0) first = v;
            last = v;
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
        }
        Assert.True(last < 0.02 * first, $"loss went from {first:G4} to {last:G4} in {steps} steps; expected below 2% of the start");
        x.Dispose();
        target.Dispose();
    }
}
