using YoloCore.Autograd;

namespace YoloCore.Diagnostics;

/// One op compared between the CPU (float32, the reference) and another device and dtype.
public sealed record ParityResult(string Op, string Shape, Device Device, DType DType, double OutputError, double GradientError, double Tolerance, string? Failure)
{
    public bool Passed => Failure is null && OutputError <= Tolerance && GradientError <= Tolerance;
}

/// Runs every op of the OpCatalog forward and backward on a device and on the CPU from the same
/// inputs, and reports the relative L2 error of the output and of every input gradient. It is
/// what `yolocore doctor --check` prints and what the GPU tests assert.
public static class BackendParity
{
    /// Relative L2 error ‖a - b‖ / ‖b‖.
    public static double RelativeError(double[] actual, double[] expected)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = actual[i] - expected[i];
            diff += d * d;
            norm += expected[i] * expected[i];
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30);
    }

    /// Float16 keeps 11 significant bits (relative rounding 5e-4 per value): the ops measure about
    /// 5e-4 on an H200 against the float32 CPU, so 5e-3 leaves room for sums without hiding a bug.
    public static double DefaultTolerance(DType dtype) => dtype == DType.Float16 ? 5e-3 : 1e-4;

    public static List<ParityResult> Run(Device device, DType dtype, double? tolerance = null, Func<OpCase, bool>? filter = null)
    {
        double tol = tolerance ?? DefaultTolerance(dtype);
        var results = new List<ParityResult>();
        foreach (var c in OpCatalog.All.Concat(OpCatalog.Wide).Where(filter ?? (_ => true)))
        {
            var values = c.DrawValues(seed: 3);
            try
            {
                var (cpuOut, cpuGrads) = Evaluate(c, values, DType.Float32, Device.Cpu);
                var (devOut, devGrads) = Evaluate(c, values, dtype, device);
                double outErr = RelativeError(devOut, cpuOut), gradErr = 0;
                for (int i = 0; i < cpuGrads.Length; i++)
                    if (cpuGrads[i] is not null)
                        gradErr = Math.Max(gradErr, devGrads[i] is null ? double.PositiveInfinity : RelativeError(devGrads[i]!, cpuGrads[i]!));
                results.Add(new ParityResult(c.Name, ShapeText(c), device, dtype, outErr, gradErr, tol, null));
            }
            catch (Exception e)
            {
                results.Add(new ParityResult(c.Name, ShapeText(c), device, dtype, double.NaN, double.NaN, tol, $"{e.GetType().Name}: {e.Message}"));
            }
        }
        return results;
    }

    static string ShapeText(OpCase c) => string.Join(" ", c.Inputs.Select(i => new Shape(i.Shape).ToString()));

    /// Output and input gradients of Σ y·r (r fixed random weights), read back as doubles.
    public static (double[] Output, double[]?[] Grads) Evaluate(OpCase c, double[][] values, DType dtype, Device device)
    {
        using var scope = TensorScope.Begin();
        var xs = c.Build(values, dtype, device);
        var y = c.Apply(xs);
        var rng = new Rng(99);
        var w = new double[y.Count];
        for (int i = 0; i < w.Length; i++) w[i] = rng.Normal();
        var r = Tensor.FromDoubles(w, y.Shape, y.DType, device);
        (y * r).Sum().Backward();
        var grads = xs.Select(x => x.Grad?.ToDoubles()).ToArray();
        foreach (var x in xs) x.ZeroGrad();
        return (y.ToDoubles(), grads);
    }
}
