namespace YoloCore.Tests;

/// The float32 max-pool runs whole vectors of channels; float64 runs the scalar reference loop.
/// They must agree on values and on which input won (ties and NaN included).
public class MaxPoolTests
{
    [Theory]
    [InlineData(5, 1, 2, 37)] // SPPF, channels = vectors + a tail
    [InlineData(3, 2, 1, 64)]
    [InlineData(2, 2, 0, 16)]
    public void VectorizedFloatMatchesTheScalarLoopIncludingTiesAndNaN(int kernel, int stride, int pad, int channels)
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(3);
        // Few distinct values so that windows hold ties; a sprinkling of NaN.
        var v = Enumerable.Range(0, 2 * 9 * 11 * channels)
            .Select(_ => rng.Next(50) == 0 ? double.NaN : rng.Next(4) - 1.5).ToArray();
        var shape = new Shape(2, 9, 11, channels);
        var g = new Pool2dGeometry(kernel, stride, pad);
        var outShape = new Shape(2, g.Out(9), g.Out(11), channels);

        (double[] Y, int[] At) Run(Tensor x)
        {
            var y = Tensor.Empty(outShape, x.DType);
            var at = Tensor.Empty(outShape, DType.Int32);
            x.Backend.MaxPool2d(x, g, y, at);
            return (y.ToDoubles(), at.ToArray<int>());
        }

        var f32 = Run(Tensor.FromArray(v.Select(d => (float)d).ToArray(), shape.ToArray()));
        var f64 = Run(Tensor.FromArray(v, shape.ToArray()));
        Assert.Equal(f64.At, f32.At);
        Assert.Equal(f64.Y, f32.Y);
        Assert.Contains(f64.Y, double.IsNaN);
    }
}
