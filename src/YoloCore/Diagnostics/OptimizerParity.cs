namespace YoloCore.Diagnostics;

/// The optimizer step's kernels (IOptimizerKernels, and the weights' cast to float16 that opens a
/// mixed-precision step) on a device against the CPU's, from the same
/// inputs: rows beside BackendParity's in `yolocore doctor --check`. Parameters and optimizer
/// state are float32 (master weights); the gradients take the dtype under test. One tensor spans
/// more than a 65536-element chunk of the multi-tensor kernels.
public static class OptimizerParity
{
    /// A case: which kernels it runs, and what it returns (every output, as doubles).
    public sealed record Case(string Name, string[] Kernels, Func<Device, DType, double[]> Run);

    static readonly int[] sizes = [70001, 37, 1];

    /// Seeded values for one tensor list (the same on every device).
    static Tensor[] Draw(Device device, DType dtype, ulong seed, double scale = 1, double offset = 0) =>
        sizes.Select((n, i) =>
        {
            var rng = new Rng(seed + (ulong)i);
            var v = new double[n];
            for (int j = 0; j < n; j++) v[j] = (float)(offset + scale * rng.Normal());
            return Tensor.FromDoubles(v, new Shape(n), dtype, device);
        }).ToArray();

    static double[] All(params IEnumerable<Tensor>[] lists) => lists.SelectMany(l => l).SelectMany(t => t.ToDoubles()).ToArray();
    static Tensor F32(double v, Device d) => Tensor.Scalar(v, DType.Float32, d);
    static Tensor I32(int v, Device d) => Tensor.Scalar(v, DType.Int32, d);
    static Tensor F64(Device d, params double[] v) => Tensor.FromDoubles(v, new Shape(v.Length), DType.Float64, d);
    /// SGD's settings: rows of (lr, momentum, weight decay, nesterov).
    static Tensor SgdSettings(Device d, params double[] rows) => Tensor.FromDoubles(rows, new Shape(rows.Length / 4, 4), DType.Float64, d);
    static IOptimizerKernels K(Device d) => Backends.For(d).Extension<IOptimizerKernels>();

    public static readonly Case[] Cases =
    [
        new("unscale and check", ["UnscaleAndCheck"], (d, g) =>
        {
            var grads = Draw(d, g, 1, scale: 64);
            var found = I32(0, d);
            K(d).UnscaleAndCheck(grads, F32(64, d), found);
            return All(grads, [found]);
        }),
        new("unscale and check (an inf)", ["UnscaleAndCheck"], (d, g) =>
        {
            var grads = Draw(d, g, 2);
            grads[1] = Tensor.FromDoubles([.. Enumerable.Repeat(double.PositiveInfinity, 37)], new Shape(37), g, d);
            var found = I32(0, d);
            K(d).UnscaleAndCheck(grads, F32(2, d), found);
            return [.. found.ToDoubles(), 1]; // 1: keeps the norm of the reference away from zero
        }),
        new("sum of squares, clip coefficient", ["SumOfSquares"], (d, g) =>
        {
            var grads = Draw(d, g, 3);
            var (total, clipped, unclipped) = (F32(0, d), F32(0, d), F32(0, d));
            K(d).SumOfSquares(grads, total, clipped, 10);
            K(d).SumOfSquares(grads, total, unclipped, 1e6);
            return All([total, clipped, unclipped]);
        }),
        new("multi-tensor sgd (nesterov, clipped)", ["MultiTensorSgd"], (d, g) =>
        {
            var (p, grads, bufs) = (Draw(d, DType.Float32, 4), Draw(d, g, 5), Draw(d, DType.Float32, 6, 0.1));
            K(d).MultiTensorSgd(p, grads, bufs, [0, 0, 0], F32(0.7, d), I32(0, d), SgdSettings(d, 0.01, 0.937, 5e-4, 1));
            return All(p, bufs);
        }),
        // YOLOv5's three groups in one launch: each tensor reads its own group's row.
        new("multi-tensor sgd (groups)", ["MultiTensorSgd"], (d, g) =>
        {
            var (p, grads, bufs) = (Draw(d, DType.Float32, 21), Draw(d, g, 22), Draw(d, DType.Float32, 23, 0.1));
            K(d).MultiTensorSgd(p, grads, [bufs[0], null, bufs[2]], [2, 1, 0], F32(0.9, d), I32(0, d),
                SgdSettings(d, 0.01, 0.937, 5e-4, 1, 0.02, 0, 0, 0, 0.005, 0.8, 0, 0));
            return All(p, [bufs[0], bufs[2]]);
        }),
        new("multi-tensor sgd (no momentum, no scale)", ["MultiTensorSgd"], (d, g) =>
        {
            var (p, grads) = (Draw(d, DType.Float32, 7), Draw(d, g, 8));
            K(d).MultiTensorSgd(p, grads, [null, null, null], [0, 0, 0], null, null, SgdSettings(d, 0.1, 0, 0, 0));
            return All(p);
        }),
        new("multi-tensor sgd (skipped)", ["MultiTensorSgd"], (d, g) =>
        {
            var (p, grads, bufs) = (Draw(d, DType.Float32, 9), Draw(d, g, 10), Draw(d, DType.Float32, 11));
            K(d).MultiTensorSgd(p, grads, bufs, [0, 0, 0], F32(0.5, d), I32(1, d), SgdSettings(d, 0.1, 0.9, 0, 1));
            return All(p, bufs);
        }),
        new("sgd step (one tensor at a time)", ["SgdStep"], (d, g) =>
        {
            var (p, grads, bufs) = (Draw(d, DType.Float32, 18), Draw(d, g, 19), Draw(d, DType.Float32, 20, 0.1));
            for (int i = 0; i < p.Length; i++) K(d).SgdStep(p[i], grads[i], i == 2 ? null : bufs[i], 0.01, i == 2 ? 0 : 0.9, 5e-4, nesterov: i == 0);
            return All(p, bufs);
        }),
        new("update scale (grow, back off)", ["UpdateScale"], (d, _) =>
        {
            var (scale, clean, skipped, found) = (F32(1024, d), I32(0, d), I32(0, d), I32(0, d));
            var trace = new List<double>();
            foreach (int f in new[] { 0, 0, 1, 0 })
            {
                found.Backend.Fill(found, f);
                K(d).UpdateScale(scale, clean, skipped, found, 2, 0.5, 2);
                trace.AddRange(All([scale, clean, skipped]));
            }
            return [.. trace];
        }),
        new("multi-tensor axpby (EMA)", ["MultiTensorAxpby"], (d, _) =>
        {
            var (a, b) = (Draw(d, DType.Float32, 12), Draw(d, DType.Float32, 13));
            K(d).MultiTensorAxpby(a, b, F64(d, 0.9, 0.1));
            return All(a);
        }),
        new("multi-tensor zero", ["MultiTensorZero"], (d, g) =>
        {
            var grads = Draw(d, g, 19);
            K(d).MultiTensorZero(grads);
            return [.. All(grads), 1]; // 1: keeps the norm of the reference away from zero
        }),
        // The step's head under mixed precision: every master weight to float16 in one call (and back).
        new("weight casts, one launch each way", ["CopyMany"], (d, g) =>
        {
            var masters = Draw(d, DType.Float32, 18, scale: 100);
            var halves = masters.Select(m => Tensor.Empty(m.Shape, DType.Float16, d)).ToArray();
            var back = masters.Select(m => Tensor.Empty(m.Shape, DType.Float32, d)).ToArray();
            Backends.For(d).CopyMany(masters, halves);
            Backends.For(d).CopyMany(halves, back);
            return All(back);
        }),
        new("adam and adamw steps", ["AdamStep"], (d, g) =>
        {
            var (p, grads, m, v) = (Draw(d, DType.Float32, 14), Draw(d, g, 15), Draw(d, DType.Float32, 16, 0.1), Draw(d, DType.Float32, 17, 0.01, 0.05));
            for (int i = 0; i < p.Length; i++)
            {
                K(d).AdamStep(p[i], grads[i], m[i], v[i], 1e-3, 0.937, 0.999, 1e-8, 5e-4, decoupled: i % 2 == 1, step: 3);
                if (v[i].ToDoubles().Any(x => x < 0)) throw new InvalidOperationException("Adam's second moment went negative");
            }
            return All(p, m, v);
        }),
    ];

    public static List<ParityResult> Run(Device device, DType gradType, double? tolerance = null)
    {
        double tol = tolerance ?? BackendParity.DefaultTolerance(gradType);
        var results = new List<ParityResult>();
        foreach (var c in Cases)
        {
            try
            {
                double[] expected, actual;
                using (TensorScope.Begin()) expected = c.Run(Device.Cpu, DType.Float32);
                using (TensorScope.Begin()) actual = c.Run(device, gradType);
                double err = BackendParity.RelativeError(actual, expected);
                results.Add(new ParityResult(c.Name, string.Join(" ", sizes), device, gradType, err, 0, tol, null));
            }
            catch (Exception e)
            {
                results.Add(new ParityResult(c.Name, string.Join(" ", sizes), device, gradType, double.NaN, double.NaN, tol, $"{e.GetType().Name}: {e.Message}"));
            }
        }
        return results;
    }
}
