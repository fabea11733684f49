namespace YoloCore.Tests;

public class BatchNormTests
{
    [Fact]
    public void TrainingUpdatesRunningStatisticsWithMomentumAndUnbiasedVariance()
    {
        using var scope = TensorScope.Begin();
        var rng = new Rng(5);
        var x = Tensor.Randn(new Shape(2, 3, 3, 2), rng, 2.0);
        var values = x.ToDoubles();
        var rm = Tensor.FromArray([0.5f, -1f], 2);
        var rv = Tensor.FromArray([2f, 0.25f], 2);
        var y = x.BatchNorm2d(Tensor.Ones(new Shape(2)), Tensor.Zeros(new Shape(2)), rm, rv, training: true, momentum: 0.03, eps: 1e-3);
        for (int c = 0; c < 2; c++)
        {
            var col = values.Where((_, i) => i % 2 == c).ToArray();
            double mean = col.Average(), unbiased = col.Sum(v => (v - mean) * (v - mean)) / (col.Length - 1);
            double oldMean = c == 0 ? 0.5 : -1, oldVar = c == 0 ? 2 : 0.25;
            Assert.Equal(0.97 * oldMean + 0.03 * mean, rm.ToDoubles()[c], 6);
            Assert.Equal(0.97 * oldVar + 0.03 * unbiased, rv.ToDoubles()[c], 6);
            // The output is normalised with the biased variance and eps.
            var yc = y.ToDoubles().Where((_, i) => i % 2 == c).ToArray();
            double biased = unbiased * (col.Length - 1) / col.Length;
            Assert.Equal((col[0] - mean) / Math.Sqrt(biased + 1e-3), yc[0], 5);
        }
    }

    [Fact]
    public void EvalUsesRunningStatisticsAndLeavesThemAlone()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 2, 1, 2);
        var rm = Tensor.FromArray([1f, 2f], 2);
        var rv = Tensor.FromArray([4f, 1f], 2);
        var y = x.BatchNorm2d(Tensor.FromArray([2f, 1f], 2), Tensor.FromArray([0f, 10f], 2), rm, rv, training: false, momentum: 0.03, eps: 0);
        Assert.Equal([0.0, 10, 2, 12], y.ToDoubles());
        Assert.Equal([1.0, 2], rm.ToDoubles());
    }
}
