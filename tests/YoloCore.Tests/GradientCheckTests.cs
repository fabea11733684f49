using YoloCore.Diagnostics;
using YoloCore.Autograd;

namespace YoloCore.Tests;

/// Every differentiable op: analytic gradients (float64) against central differences, and float32
/// against float64 on the same inputs.
public class GradientCheckTests
{
    const double H = 1e-6;

    public static IEnumerable<object[]> OpNames => OpCatalog.All.Select(c => new object[] { c.Name });

    /// Σ y·r for fixed random weights r: a scalar whose gradient exercises every output element.
    static double WeightedSum(Tensor y, double[] r) => y.ToDoubles().Zip(r, (a, b) => a * b).Sum();

    static double[] Weights(long n)
    {
        var rng = new Rng(99);
        return Enumerable.Range(0, (int)n).Select(_ => rng.Normal()).ToArray();
    }

    internal static double RelativeError(double[] actual, double[] expected) => BackendParity.RelativeError(actual, expected);

    /// Runs the op and returns its output values and the analytic gradient of Σ y·r per input.
    static (double[] Output, double[]?[] Grads) Analytic(OpCase c, double[][] values, DType dtype)
    {
        using var scope = TensorScope.Begin();
        var xs = c.Build(values, dtype);
        var y = c.Apply(xs);
        var r = Tensor.FromDoubles(Weights(y.Count), y.Shape, dtype);
        (y * r).Sum().Backward();
        var grads = xs.Select(x => x.Grad?.ToDoubles()).ToArray();
        foreach (var x in xs) x.ZeroGrad();
        return (y.ToDoubles(), grads);
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void Float64GradientMatchesCentralDifferences(string name)
    {
        var c = OpCatalog.Get(name);
        var values = c.DrawValues(seed: 7);
        var (output, grads) = Analytic(c, values, DType.Float64);
        var r = Weights(output.Length);

        double Loss()
        {
            using var scope = TensorScope.Begin();
            using var _ = GradMode.NoGrad();
            return WeightedSum(c.Apply(c.Build(values, DType.Float64)), r);
        }

        for (int i = 0; i < c.Inputs.Length; i++)
        {
            if (!c.Inputs[i].Grad) continue;
            Assert.NotNull(grads[i]);
            var numeric = new double[values[i].Length];
            for (int j = 0; j < numeric.Length; j++)
            {
                double keep = values[i][j];
                values[i][j] = keep + H;
                double plus = Loss();
                values[i][j] = keep - H;
                double minus = Loss();
                values[i][j] = keep;
                numeric[j] = (plus - minus) / (2 * H);
            }
            double err = RelativeError(grads[i]!, numeric);
            Assert.True(err <= 1e-6, $"{name}: input {i} gradient relative error {err:E2}");
            Assert.True(numeric.Any(v => v != 0), $"{name}: input {i} has an all-zero gradient, the check proves nothing");
        }
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void Float32AgreesWithFloat64(string name)
    {
        var c = OpCatalog.Get(name);
        var values = c.DrawValues(seed: 11);
        var (out64, g64) = Analytic(c, values, DType.Float64);
        var (out32, g32) = Analytic(c, values, DType.Float32);
        double err = RelativeError(out32, out64);
        Assert.True(err <= 1e-5, $"{name}: float32 output relative L2 error {err:E2}");
        for (int i = 0; i < g64.Length; i++)
        {
            if (g64[i] is null) continue;
            double ge = RelativeError(g32[i]!, g64[i]!);
            Assert.True(ge <= 1e-5, $"{name}: float32 gradient of input {i} relative L2 error {ge:E2}");
        }
    }
}
