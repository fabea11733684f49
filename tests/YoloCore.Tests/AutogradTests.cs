using YoloCore.Autograd;

namespace YoloCore.Tests;

public class AutogradTests
{
    static Tensor Leaf(double[] v, params int[] shape)
    {
        var t = Tensor.FromDoubles(v, new Shape(shape), DType.Float64);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void GradientsOfAReusedTensorAreSummed()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([1.5, -2], 2);
        // y = Σ x·x + 3x  →  dy/dx = 2x + 3
        ((x * x).Sum() + (x * 3.0).Sum()).Backward();
        Assert.Equal([6.0, -1.0], x.Grad!.ToDoubles());
        x.ZeroGrad();
    }

    [Fact]
    public void AddPassesItsGradientOnSharedWithoutMixingPaths()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([1.5, -2, 0.25], 3);
        var w = Tensor.FromDoubles([0.5, 3, -1], new Shape(3), DType.Float64);
        // h = 2x; loss = Σ (h + h)·w + Σ h·h + Σ (h + x)  →  dloss/dx = 4w + 8x + 3
        var h = x * 2.0;
        ((h + h) * w).Sum().Add((h * h).Sum()).Add((h + x).Sum()).Backward();
        var expected = new[] { 4 * 0.5 + 8 * 1.5 + 3, 4 * 3 + 8 * -2.0 + 3, 4 * -1 + 8 * 0.25 + 3 };
        Assert.Equal(expected, x.Grad!.ToDoubles());
    }

    /// A convolution offered the gradient h already has adds its own into it (Node.Backward's
    /// addInto): h's gradient is the sum over its consumers, each counted once, in any order.
    [Fact]
    public void AConvolutionAddsItsInputGradientIntoWhatOtherConsumersGave()
    {
        using var scope = TensorScope.Begin();
        var rng = new Random(5);
        double[] Values(int n) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var xv = Values(2 * 4 * 4 * 3);
        var w1 = Tensor.FromDoubles(Values(5 * 3), new Shape(5, 1, 1, 3), DType.Float64);
        var w3 = Tensor.FromDoubles(Values(5 * 9 * 3), new Shape(5, 3, 3, 3), DType.Float64);
        double[] Grad(Func<Tensor, Tensor> loss)
        {
            var x = Leaf(xv, 2, 4, 4, 3);
            loss(x * 2.0).Backward();
            return x.Grad!.ToDoubles();
        }
        Tensor Pointwise(Tensor h) => h.Conv2d(w1).Sum();
        Tensor Spatial(Tensor h) => (h.Conv2d(w3, null, 1, 1) * h.Conv2d(w3, null, 1, 1)).Sum();
        Tensor Square(Tensor h) => (h * h).Sum();
        var all = Grad(h => Pointwise(h) + Spatial(h) + Square(h));
        var reversed = Grad(h => Square(h) + Spatial(h) + Pointwise(h));
        var parts = new[] { Grad(Pointwise), Grad(Spatial), Grad(Square) };
        for (int i = 0; i < all.Length; i++)
        {
            double sum = parts.Sum(p => p[i]);
            Assert.True(Math.Abs(all[i] - sum) < 1e-12 && Math.Abs(reversed[i] - sum) < 1e-12, $"x[{i}]: {all[i]} and {reversed[i]}, parts add to {sum}");
        }
    }

    [Fact]
    public void BackwardAccumulatesIntoExistingGradients()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([2.0], 1);
        (x * 5.0).Sum().Backward();
        (x * x).Sum().Backward();
        Assert.Equal(5.0 + 4.0, x.Grad!.Item());
        x.ZeroGrad();
    }

    [Fact]
    public void NoGradScopeRecordsNothing()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([1.0, 2.0], 2);
        Tensor y;
        using (GradMode.NoGrad()) y = x * 2.0;
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
        Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
        Assert.True((x * 2.0).RequiresGrad);
    }

    [Fact]
    public void GradFinalHookFiresOnceWithTheCompleteGradient()
    {
        using var scope = TensorScope.Begin();
        var a = Leaf([1.0, 2.0], 2);
        var b = Leaf([3.0], 1);
        var seen = new List<(string, double[])>();
        a.OnGradFinal(t => seen.Add(("a", t.Grad!.ToDoubles())));
        b.OnGradFinal(t => seen.Add(("b", t.Grad!.ToDoubles())));
        // a is used by three nodes; its hook must wait for all three contributions.
        var y = (a * b).Sum() + a.Sum() + (a * a).Sum();
        y.Backward();
        Assert.Equal(2, seen.Count);
        var aGrad = seen.Single(s => s.Item1 == "a").Item2;
        Assert.Equal([3.0 + 1 + 2, 3.0 + 1 + 4], aGrad);
        Assert.Equal([3.0], seen.Single(s => s.Item1 == "b").Item2);
        a.ZeroGrad();
        b.ZeroGrad();
    }

    [Fact]
    public void HookOrderFollowsReverseUse()
    {
        // A chain w1 → w2 → w3: w3's gradient is final first, as a DDP reducer expects.
        using var scope = TensorScope.Begin();
        var x = Tensor.FromDoubles([1.0, -1.0], new Shape(2), DType.Float64);
        var ws = Enumerable.Range(0, 3).Select(i => Leaf([0.5 + i, 1.5], 2)).ToArray();
        var order = new List<int>();
        for (int i = 0; i < 3; i++) { int k = i; ws[i].OnGradFinal(_ => order.Add(k)); }
        var h = x;
        foreach (var w in ws) h = (h * w).Silu();
        h.Sum().Backward();
        Assert.Equal([2, 1, 0], order);
        foreach (var w in ws) w.ZeroGrad();
    }

    [Fact]
    public void HooksFireForLeavesBehindBranchesWithoutGradient()
    {
        using var scope = TensorScope.Begin();
        var w = Leaf([2.0], 1);
        var fired = 0;
        w.OnGradFinal(_ => fired++);
        var y = (w * 3.0).Sum();
        y.Backward();
        Assert.Equal(1, fired);
        w.ZeroGrad();
    }

    [Fact]
    public void SavedTensorsAreReleasedAsSoonAsTheirNodeRuns()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf(Enumerable.Range(0, 1000).Select(i => i * 1e-3).ToArray(), 1000);
        long before = MemoryStats.LiveBytes(Device.Cpu);
        var y = x.Sigmoid();
        var z = y.Exp();
        var loss = z.Sum();
        y.Dispose(); // the caller no longer needs y; only the graph keeps it
        z.Dispose();
        long withGraph = MemoryStats.LiveBytes(Device.Cpu);
        loss.Backward();
        long after = MemoryStats.LiveBytes(Device.Cpu);
        Assert.True(withGraph - before >= 2 * 8000, "the graph should be holding y and z");
        // After backward only the loss scalar and x's gradient remain of what was added.
        Assert.True(after - before <= 8000 + 64, $"saved tensors still held: {after - before} bytes");
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
        x.ZeroGrad();
    }

    [Fact]
    public void BackwardNeedsAScalarOrAGradient()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([1.0, 2.0], 2);
        var y = x * x;
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        y.Backward(Tensor.FromDoubles([1.0, 0.5], new Shape(2), DType.Float64));
        Assert.Equal([2.0, 2.0], x.Grad!.ToDoubles());
        x.ZeroGrad();
    }

    [Fact]
    public void DetachCutsTheGraph()
    {
        using var scope = TensorScope.Begin();
        var x = Leaf([3.0], 1);
        var y = (x * x.Detach()).Sum();
        y.Backward();
        Assert.Equal(3.0, x.Grad!.Item());
        x.ZeroGrad();
    }
}

/// A leaf's first gradient is the engine's own tensor, adopted (no copy: one launch fewer per
/// parameter on a GPU), unless it arrives as a view of shared storage; either way it outlives the
/// step's scope.
public class LeafGradientTests
{
    static (Dictionary<string, long> Calls, float[] Grad) Backward(Func<Tensor, Tensor> loss)
    {
        var p = Tensor.FromArray([1f, 2f, 3f, 4f], 4);
        p.RequiresGrad = true;
        var profiler = new YoloCore.Diagnostics.OpProfiler(YoloCore.Cpu.CpuBackend.Instance);
        YoloCore.Backends.Register(profiler.Backend);
        try
        {
            using (TensorScope.Begin()) loss(p).Backward();
        }
        finally { YoloCore.Backends.Register(YoloCore.Cpu.CpuBackend.Instance); }
        var grad = p.Grad!.ToArray<float>(); // after the scope: the gradient must still be there
        p.Dispose();
        return (profiler.Report().ToDictionary(r => r.Op, r => r.Calls), grad);
    }

    [Fact]
    public void AnOwnedFirstGradientIsAdoptedWithoutACopy()
    {
        var (calls, grad) = Backward(p => (p * p).Sum());
        Assert.Equal([2f, 4f, 6f, 8f], grad);
        Assert.False(calls.ContainsKey("Copy"), string.Join(", ", calls.Keys));
    }

    [Fact]
    public void AGradientArrivingAsAViewSurvivesTheScope()
    {
        // Reshape passes its gradient back as a view; the leaf's gradient must not be freed (or
        // overwritten) with the step's tensors, whether it was adopted or copied.
        var (_, grad) = Backward(p => (p.Reshape(2, 2) * 3).Sum());
        Assert.Equal([3f, 3f, 3f, 3f], grad);
    }
}

/// Mixed precision's weights: a convolution of a cast master weight writes the weight's (and
/// bias's) gradient in the master's dtype, so the cast's backward passes it through, with no
/// conversion. Here the compute dtype is float64 and the masters float32 (the CPU has no float16
/// arithmetic); on a GPU it is float16 and float32.
public class MasterWeightGradientTests
{
    static Tensor Leaf(Random rng, DType dtype, params int[] shape)
    {
        var n = shape.Aggregate(1, (a, b) => a * b);
        var t = Tensor.FromDoubles(Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).Select(v => (double)(float)v).ToArray(), new Shape(shape), dtype);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void AConvolutionOfACastWeightWritesTheGradientInTheMastersDType()
    {
        var rng = new Random(3);
        using var x = Leaf(rng, DType.Float64, 2, 5, 6, 3);
        using var w32 = Leaf(rng, DType.Float32, 4, 3, 3, 3);
        using var b32 = Leaf(rng, DType.Float32, 4);
        using var w64 = Tensor.FromDoubles(w32.ToDoubles(), w32.Shape, DType.Float64);
        using var b64 = Tensor.FromDoubles(b32.ToDoubles(), b32.Shape, DType.Float64);
        w64.RequiresGrad = b64.RequiresGrad = true;
        using (TensorScope.Begin())
        {
            var y = x.Conv2d(w64, b64, Conv2dGeometry.Square(2, 1));
            (y * y).Sum().Backward();
        }
        var gx = x.Grad!.ToDoubles();
        x.ZeroGrad();

        var profiler = new YoloCore.Diagnostics.OpProfiler(YoloCore.Cpu.CpuBackend.Instance);
        YoloCore.Backends.Register(profiler.Backend);
        try
        {
            using var _ = TensorScope.Begin();
            var y = x.Conv2d(w32.Cast(DType.Float64), b32.Cast(DType.Float64), Conv2dGeometry.Square(2, 1));
            (y * y).Sum().Backward();
        }
        finally { YoloCore.Backends.Register(YoloCore.Cpu.CpuBackend.Instance); }

        Assert.Equal(DType.Float32, w32.Grad!.DType);
        // Summed in float64, rounded once: exactly the float64 gradient rounded to float32.
        Assert.Equal(w64.Grad!.ToDoubles().Select(v => (double)(float)v), w32.Grad.ToDoubles());
        Assert.Equal(b64.Grad!.ToDoubles().Select(v => (double)(float)v), b32.Grad!.ToDoubles());
        Assert.Equal(gx, x.Grad!.ToDoubles());
        // The two forward casts copy; the backward converts nothing.
        var calls = profiler.Report().ToDictionary(r => r.Op, r => r.Calls);
        Assert.True(calls.GetValueOrDefault("Cast") == 2, string.Join(", ", calls));
    }

    [Fact]
    public void ACastWeightWithConsumersOfBothDTypesGetsTheirSum()
    {
        // The convolution hands the cast float32, the product float64: the engine adds them in one dtype.
        var rng = new Random(4);
        using var x = Leaf(rng, DType.Float64, 1, 4, 4, 2);
        using var w32 = Leaf(rng, DType.Float32, 3, 1, 1, 2);
        using var w64 = Tensor.FromDoubles(w32.ToDoubles(), w32.Shape, DType.Float64);
        w64.RequiresGrad = true;
        Tensor Loss(Tensor w) => x.Conv2d(w).Sum() + (w * w).Sum() * 0.5;
        using (TensorScope.Begin()) Loss(w64).Backward();
        using (TensorScope.Begin()) Loss(w32.Cast(DType.Float64)).Backward();
        Assert.Equal(DType.Float32, w32.Grad!.DType);
        var expected = w64.Grad!.ToDoubles();
        var got = w32.Grad.ToDoubles();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], got[i], 1e-6);
    }
}
