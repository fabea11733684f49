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

    /// Runs BatchNorm + SiLU on values (fused or as two ops) and returns y, the gradients of
    /// Σ y·w for x, γ, β, and the running statistics.
    static double[][] BnSilu(double[] xs, Shape shape, double[] ws, DType dtype, bool fused)
    {
        using var scope = TensorScope.Begin();
        int c = shape[3];
        var x = Tensor.FromDoubles(xs, shape, dtype);
        var g = Tensor.FromDoubles(Enumerable.Range(0, c).Select(j => 0.5 + 0.1 * j).ToArray(), new Shape(c), dtype);
        var b = Tensor.FromDoubles(Enumerable.Range(0, c).Select(j => 0.3 - 0.05 * j).ToArray(), new Shape(c), dtype);
        var rm = Tensor.Zeros(new Shape(c), dtype);
        var rv = Tensor.Ones(new Shape(c), dtype);
        foreach (var t in new[] { x, g, b }) t.RequiresGrad = true;
        var y = fused ? x.BatchNormSilu(g, b, rm, rv, 0.03, 1e-3) : x.BatchNorm2d(g, b, rm, rv, true, 0.03, 1e-3).Silu();
        (y * Tensor.FromDoubles(ws, shape, dtype)).Sum().Backward();
        return [y.ToDoubles(), x.Grad!.ToDoubles(), g.Grad!.ToDoubles(), b.Grad!.ToDoubles(), rm.ToDoubles(), rv.ToDoubles()];
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1000.0)]   // a mean far larger than the spread: the statistics must not cancel
    public void FusedBatchNormSiluMatchesTheTwoOpsInFloat64(double offset)
    {
        // 4·9·11 = 396 rows: two chunks of the row reductions; 27 channels: three vectors and a tail.
        var shape = new Shape(4, 9, 11, 27);
        var rng = new Rng(11);
        var xs = new double[shape.Count];
        var ws = new double[shape.Count];
        for (int i = 0; i < xs.Length; i++) { xs[i] = (float)(offset + (1 + i % 27) * 0.1 * rng.Normal()); ws[i] = (float)rng.Normal(); }
        var reference = BnSilu(xs, shape, ws, DType.Float64, fused: false);
        var fused64 = BnSilu(xs, shape, ws, DType.Float64, fused: true);
        var fused32 = BnSilu(xs, shape, ws, DType.Float32, fused: true);
        string[] names = ["y", "grad x", "grad gamma", "grad beta", "running mean", "running var"];
        for (int k = 0; k < names.Length; k++)
        {
            double e64 = GradientCheckTests.RelativeError(fused64[k], reference[k]);
            double e32 = GradientCheckTests.RelativeError(fused32[k], reference[k]);
            Assert.True(e64 < 1e-12, $"float64 {names[k]}: {e64:E2}");
            // Statistics stay accurate at any offset; at 1000 float32 itself spaces values 6e-5 apart
            // (3e-4 of the smallest spread), which bounds everything normalised by them.
            double tolerance = k >= 4 || offset == 0 ? 2e-6 : 1e-3;
            Assert.True(e32 < tolerance, $"float32 {names[k]}: {e32:E2}");
        }
    }
}
