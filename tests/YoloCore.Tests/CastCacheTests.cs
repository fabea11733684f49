using YoloCore.Diagnostics;
using YoloCore.Nn;

namespace YoloCore.Tests;

/// Mixed precision's weight casts, once per forward in one call: the same outputs and
/// gradients as each convolution casting its own weight. The compute dtype here is float64 over
/// float32 masters (the CPU has no float16 arithmetic); a GPU runs float16 the same way.
public class CastCacheTests
{
    /// Convolutions only (CPU BatchNorm computes in its parameters' dtype): a 3×3 stride-2 with
    /// bias, SiLU, then a 1×1 and a 3×3 on the same features, added.
    sealed class Net : Module
    {
        readonly Conv2d a, b, c;

        public Net(Rng rng)
        {
            a = RegisterModule("a", new Conv2d(3, 8, 3, 2, 1, bias: true, rng));
            b = RegisterModule("b", new Conv2d(8, 4, 1, 1, 0, bias: false, rng));
            c = RegisterModule("c", new Conv2d(8, 4, 3, 1, 1, bias: true, rng));
        }

        public override Tensor Forward(Tensor x)
        {
            var h = a.Forward(x).Silu();
            return b.Forward(h) + c.Forward(h);
        }
    }

    static (double[] Out, double[][] Grads, Dictionary<string, long> Calls) ForwardBackward(Net model, Tensor x, bool cache)
    {
        var profiler = new OpProfiler(Cpu.CpuBackend.Instance);
        Backends.Register(profiler.Backend);
        double[] heads;
        try
        {
            using var _ = TensorScope.Begin();
            Tensor y;
            using (cache ? CastCache.Begin(Conv2d.Weights(model), DType.Float64) : null)
                y = model.Forward(x);
            heads = y.ToDoubles();
            (y * y).Sum().Backward();
        }
        finally { Backends.Register(Cpu.CpuBackend.Instance); }
        var grads = model.Parameters().Select(p => p.Grad!.ToDoubles()).ToArray();
        Assert.All(model.Parameters(), p => Assert.Equal(DType.Float32, p.Grad!.DType));
        foreach (var p in model.Parameters()) p.ZeroGrad();
        return (heads, grads, profiler.Report().ToDictionary(r => r.Op, r => r.Calls));
    }

    [Fact]
    public void TheWeightsAreCastInOneCallWithTheSameOutputsAndGradients()
    {
        using var model = new Net(new Rng(7));
        var v = new Rng(8);
        using var x = Tensor.FromDoubles(Enumerable.Range(0, 2 * 9 * 10 * 3).Select(_ => v.NextDouble()).ToArray(), new Shape(2, 9, 10, 3), DType.Float64);
        var each = ForwardBackward(model, x, cache: false);
        var once = ForwardBackward(model, x, cache: true);
        Assert.Equal(each.Out, once.Out);
        for (int i = 0; i < each.Grads.Length; i++) Assert.Equal(each.Grads[i], once.Grads[i]);
        // Each way, 3 weights and 2 biases go float32 → float64, and nothing comes back.
        Assert.Equal(5, Conv2d.Weights(model).Count);
        Assert.Equal(5, each.Calls.GetValueOrDefault("Cast"));
        Assert.Equal(1, once.Calls.GetValueOrDefault("CopyMany"));
        Assert.Equal(0, once.Calls.GetValueOrDefault("Cast"));
    }

    [Fact]
    public void ACacheServesOnlyItsDTypeAndClosesInOrder()
    {
        using var w = Tensor.FromArray([1f, 2f], 2);
        w.RequiresGrad = true;
        using var scope = TensorScope.Begin();
        var outer = CastCache.Begin([w], DType.Float64);
        Assert.Equal(1, outer.Count);
        var inner = CastCache.Begin([w], DType.Float16);
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        (w.Cast(DType.Float16).Cast(DType.Float32) * 3.0).Sum().Backward(); // from the inner cache
        inner.Dispose();
        (w.Cast(DType.Float64) * 2.0).Sum().Backward(); // from the outer one
        outer.Dispose();
        Assert.Equal([5f, 5f], w.Grad!.ToArray<float>());
        w.ZeroGrad();
    }
}
