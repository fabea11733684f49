namespace YoloCore.Tests;

/// Conv + BatchNorm + SiLU with the batch sums handed from the convolution to BatchNorm (what a GPU
/// adds up in the convolution's epilogue) against Conv2d, then BatchNormSilu taking its own
/// statistics.
public class ConvBatchNormSiluTests
{
    /// y, the gradients of Σ y·r for x, the weight, γ and β, and the running statistics.
    static double[][] Run(double[] xs, Shape shape, double[] ws, Shape wshape, int stride, int pad, double[] rs, DType dtype, bool fused)
    {
        using var scope = TensorScope.Begin();
        int c = wshape[0];
        var x = Tensor.FromDoubles(xs, shape, dtype);
        var w = Tensor.FromDoubles(ws, wshape, dtype);
        var g = Tensor.FromDoubles(Enumerable.Range(0, c).Select(j => 0.5 + 0.1 * j).ToArray(), new Shape(c), dtype);
        var b = Tensor.FromDoubles(Enumerable.Range(0, c).Select(j => 0.3 - 0.05 * j).ToArray(), new Shape(c), dtype);
        var rm = Tensor.Zeros(new Shape(c), dtype);
        var rv = Tensor.Ones(new Shape(c), dtype);
        foreach (var t in new[] { x, w, g, b }) t.RequiresGrad = true;
        var geometry = Conv2dGeometry.Square(stride, pad);
        var y = fused ? x.ConvBatchNormSilu(w, geometry, g, b, rm, rv, 0.03, 1e-3)
            : x.Conv2d(w, null, geometry).BatchNormSilu(g, b, rm, rv, 0.03, 1e-3);
        (y * Tensor.FromDoubles(rs, y.Shape, dtype)).Sum().Backward();
        return [y.ToDoubles(), x.Grad!.ToDoubles(), w.Grad!.ToDoubles(), g.Grad!.ToDoubles(), b.Grad!.ToDoubles(), rm.ToDoubles(), rv.ToDoubles()];
    }

    static readonly string[] Names = ["y", "grad x", "grad w", "grad gamma", "grad beta", "running mean", "running var"];

    /// A 3×3 stride-2 convolution with random weights, and a 1×1 identity one (y = x) whose input
    /// has a mean far larger than its spread: the variance from Σy² - M·mean² in double must not
    /// cancel. 4·9·11 pixels: two chunks of the row reductions; 27 channels: three vectors and a tail.
    [Theory]
    [InlineData(3, 2, 0.0)]
    [InlineData(1, 1, 0.0)]
    [InlineData(1, 1, 1000.0)]
    public void TheBatchSumsFromTheConvolutionGiveWhatBatchNormComputesItself(int k, int stride, double offset)
    {
        const int cin = 27;
        int cout = k == 1 ? cin : 13;
        var shape = new Shape(4, 9, 11, cin);
        var wshape = new Shape(cout, k, k, cin);
        var rng = new Rng(21);
        var xs = new double[shape.Count];
        for (int i = 0; i < xs.Length; i++) xs[i] = (float)(offset + (1 + i % cin) * 0.1 * rng.Normal());
        var ws = new double[wshape.Count];
        for (int i = 0; i < ws.Length; i++) ws[i] = k == 1 ? (i / cin == i % cin ? 1 : 0) : (float)(rng.Normal() * 0.2);
        int ho = (9 + 2 * (k / 2) - k) / stride + 1, wo = (11 + 2 * (k / 2) - k) / stride + 1;
        var rs = Enumerable.Range(0, 4 * ho * wo * cout).Select(_ => (double)(float)rng.Normal()).ToArray();
        var reference = Run(xs, shape, ws, wshape, stride, k / 2, rs, DType.Float64, fused: false);
        var fused64 = Run(xs, shape, ws, wshape, stride, k / 2, rs, DType.Float64, fused: true);
        var reference32 = Run(xs, shape, ws, wshape, stride, k / 2, rs, DType.Float32, fused: false);
        var fused32 = Run(xs, shape, ws, wshape, stride, k / 2, rs, DType.Float32, fused: true);
        for (int i = 0; i < Names.Length; i++)
        {
            // At offset 1000 the raw sums lose log10(mean²/var) ≈ 8 of double's 16 digits.
            double e64 = GradientCheckTests.RelativeError(fused64[i], reference[i]);
            Assert.True(e64 < (offset == 0 ? 1e-12 : 1e-7), $"float64 {Names[i]}: {e64:E2}");
            // In float32 against the two ops in float32, and the statistics against float64. At
            // offset 1000 the weight gradient Σ x·g (Σ g ≈ 0) is float32 noise in either form, so
            // only float64 speaks for it.
            double e32 = GradientCheckTests.RelativeError(fused32[i], reference32[i]);
            if (offset == 0 || Names[i] != "grad w") Assert.True(e32 < (offset == 0 ? 2e-6 : 1e-3), $"float32 {Names[i]}: {e32:E2} against the two ops");
            if (i >= 5)
            {
                double stat = GradientCheckTests.RelativeError(fused32[i], reference[i]);
                Assert.True(stat < 2e-6, $"float32 {Names[i]}: {stat:E2} against float64");
            }
        }
    }

    /// The backend's Conv2d fills the batch sums with Σy and Σy² of the y it wrote.
    [Fact]
    public void Conv2dWritesTheBatchSumsOfItsOutput()
    {
        using var scope = TensorScope.Begin();
        var rng = new Rng(3);
        var x = Tensor.Randn(new Shape(2, 7, 5, 6), rng);
        var w = Tensor.Randn(new Shape(9, 3, 3, 6), rng);
        var y = Tensor.Empty(new Shape(2, 7, 5, 9));
        var sums = Tensor.Full(new Shape(2, 9), double.NaN, DType.Float64);
        x.Backend.Conv2d(x, w, null, Conv2dGeometry.Square(1, 1), y, sums);
        var yv = y.ToDoubles();
        var s = sums.ToDoubles();
        for (int c = 0; c < 9; c++)
        {
            var col = yv.Where((_, i) => i % 9 == c).ToArray();
            Assert.Equal(col.Sum(), s[c], 1e-9 * col.Sum(Math.Abs));
            Assert.Equal(col.Sum(v => v * v), s[9 + c], 1e-9 * col.Sum(v => v * v));
        }
        Assert.Contains("float64 [2, 9]", Assert.Throws<ArgumentException>(() => x.Backend.Conv2d(x, w, null, Conv2dGeometry.Square(1, 1), y, Tensor.Empty(new Shape(2, 9)))).Message);
    }
}

/// A Bottleneck's shortcut added in BatchNorm's pass: x + ConvBatchNormSilu(h) as one op gives
/// exactly what the op then an Add give, outputs and every gradient (the residual's is the
/// output's), in the reference (float64) and the fast tier (float32, 20 channels: vectors and a tail).
public class ResidualBatchNormSiluTests
{
    static double[][] Run(DType dtype, bool fusedAdd)
    {
        using var scope = TensorScope.Begin();
        var rng = new Rng(5);
        Tensor Draw(Shape s, double scale) => Tensor.FromDoubles(Enumerable.Range(0, (int)s.Count).Select(_ => (double)(float)(scale * rng.Normal())).ToArray(), s, dtype);
        int c = 20;
        var x = Draw(new Shape(2, 7, 9, c), 1);
        var w = Draw(new Shape(c, 3, 3, c), 0.1);
        var g = Draw(new Shape(c), 0.3);
        var b = Draw(new Shape(c), 0.3);
        var r = Draw(new Shape(2, 7, 9, c), 1);
        foreach (var t in new[] { x, w, g, b, r }) t.RequiresGrad = true;
        var rm = Tensor.Zeros(new Shape(c), dtype);
        var rv = Tensor.Ones(new Shape(c), dtype);
        var geometry = Conv2dGeometry.Square(1, 1);
        var y = fusedAdd ? x.ConvBatchNormSilu(w, geometry, g, b, rm, rv, 0.03, 1e-3, residual: r)
            : r + x.ConvBatchNormSilu(w, geometry, g, b, rm, rv, 0.03, 1e-3);
        (y * Draw(y.Shape, 1)).Sum().Backward();
        return [y.ToDoubles(), x.Grad!.ToDoubles(), w.Grad!.ToDoubles(), g.Grad!.ToDoubles(), b.Grad!.ToDoubles(), r.Grad!.ToDoubles(), rm.ToDoubles(), rv.ToDoubles()];
    }

    [Theory]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float32)]
    public void TheShortcutAddedInTheSamePassIsTheAdd(DType dtype)
    {
        var add = Run(dtype, fusedAdd: false);
        var fused = Run(dtype, fusedAdd: true);
        for (int i = 0; i < add.Length; i++) Assert.Equal(add[i], fused[i]);
    }
}
