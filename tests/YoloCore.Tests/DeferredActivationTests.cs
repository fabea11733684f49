using YoloCore.Nn;
using YoloCore.Nn.Yolo;

namespace YoloCore.Tests;

/// A Conv block leaving its BatchNorm + SiLU to the convolution that reads its output
/// (DeferredActivation): the same model, outputs, gradients and running statistics as computing
/// it, with less kept for backward (the deferred activations are never stored).
public class DeferredActivationTests
{
    /// yolov5n in training from one seed: Σ heads·r, every parameter's gradient and every running
    /// statistic after backward, and the bytes the graph holds after the forward.
    static (double[][] Values, long GraphBytes) Step(bool? defer)
    {
        using var scope = TensorScope.Begin();
        using var model = new YoloModel(ModelConfig.Load("yolov5n").WithClasses(3));
        model.Train();
        model.DeferActivations(defer);
        var rng = new Rng(17);
        var images = Tensor.Uniform(new Shape(2, 64, 64, 3), rng, 0, 1);
        long before = MemoryStats.LiveBytes(Device.Cpu);
        var heads = model.ForwardHeads(images);
        long graph = MemoryStats.LiveBytes(Device.Cpu) - before;
        Tensor? loss = null;
        foreach (var h in heads)
        {
            var term = (h * Tensor.Randn(h.Shape, rng)).Sum();
            loss = loss is null ? term : loss + term;
        }
        loss!.Backward();
        var values = new List<double[]> { loss.ToDoubles() };
        values.AddRange(model.NamedParameters().Select(p => p.Tensor.Grad!.ToDoubles()));
        values.AddRange(model.StateDict().Where(e => e.Name.EndsWith("running_mean") || e.Name.EndsWith("running_var")).Select(e => e.Tensor.ToDoubles()));
        return (values.ToArray(), graph);
    }

    [Fact]
    public void DeferringGivesTheSameStepAndKeepsLess()
    {
        var computed = Step(defer: false);
        var deferred = Step(defer: true);
        Assert.Equal(computed.Values.Length, deferred.Values.Length);
        for (int i = 0; i < computed.Values.Length; i++)
        {
            double e = GradientCheckTests.RelativeError(deferred.Values[i], computed.Values[i]);
            Assert.True(e < 1e-4, $"value {i}: {e:E2}");
        }
        // At least the stem's activation (2 × 32 × 32 × 16 floats, deferred into layer 1) is not kept.
        long stem = 2L * 32 * 32 * 16 * sizeof(float);
        Assert.True(deferred.GraphBytes <= computed.GraphBytes - stem, $"graph {deferred.GraphBytes} bytes deferred, {computed.GraphBytes} computed");
        // The CPU computes a deferred input in a pass of its own, so by default it does not defer.
        Assert.Equal(computed.GraphBytes, Step(defer: null).GraphBytes);
    }

    /// A Conv block's deferred output read by the next block's convolution is the computed output
    /// read by it, output and gradients (the first block's input, both weights, γ and β).
    [Fact]
    public void AConvBlockReadsADeferredInputAsTheComputedOne()
    {
        double[][] Run(bool defer)
        {
            using var scope = TensorScope.Begin();
            var rng = new Rng(9);
            var x = Tensor.Randn(new Shape(2, 7, 6, 8), rng);
            var w1 = Tensor.Randn(new Shape(8, 3, 3, 8), rng, 0.2);
            var w2 = Tensor.Randn(new Shape(5, 3, 3, 8), rng, 0.2);
            var g = Tensor.Uniform(new Shape(8), rng, 0.5, 1.5);
            var b = Tensor.Randn(new Shape(8), rng, 0.3);
            foreach (var t in new[] { x, w1, w2, g, b }) t.RequiresGrad = true;
            var (rm, rv, rm2, rv2) = (Tensor.Zeros(new Shape(8)), Tensor.Ones(new Shape(8)), Tensor.Zeros(new Shape(5)), Tensor.Ones(new Shape(5)));
            var (g2, b2) = (Tensor.Ones(new Shape(5)), Tensor.Zeros(new Shape(5)));
            var geometry = Conv2dGeometry.Square(1, 1);
            Tensor y;
            if (defer)
            {
                using var h = x.ConvBatchNormSiluDeferred(w1, geometry, g, b, rm, rv, 0.03, 1e-3);
                Assert.True(h.IsDeferred);
                Assert.Throws<InvalidOperationException>(() => h.Value);
                y = h.ConvBatchNormSilu(w2, geometry, g2, b2, rm2, rv2, 0.03, 1e-3);
                // The value computed for a reader that is not a Conv block, with its gradient flowing back.
                using var value = h.Computed();
                using var direct = x.ConvBatchNormSilu(w1, geometry, g, b, Tensor.Zeros(new Shape(8)), Tensor.Ones(new Shape(8)), 0.03, 1e-3);
                Assert.True(GradientCheckTests.RelativeError(value.ToDoubles(), direct.ToDoubles()) < 1e-6);
                y = y + 0.5 * value.Sum();
            }
            else
            {
                var h = x.ConvBatchNormSilu(w1, geometry, g, b, rm, rv, 0.03, 1e-3);
                y = h.ConvBatchNormSilu(w2, geometry, g2, b2, rm2, rv2, 0.03, 1e-3) + 0.5 * h.Sum();
            }
            (y * Tensor.Randn(y.Shape, rng)).Sum().Backward();
            return [y.ToDoubles(), x.Grad!.ToDoubles(), w1.Grad!.ToDoubles(), w2.Grad!.ToDoubles(), g.Grad!.ToDoubles(), b.Grad!.ToDoubles(), rm.ToDoubles(), rv.ToDoubles()];
        }
        var computed = Run(false);
        var deferred = Run(true);
        for (int i = 0; i < computed.Length; i++)
        {
            double e = GradientCheckTests.RelativeError(deferred[i], computed[i]);
            Assert.True(e < 1e-5, $"value {i}: {e:E2}");
        }
    }
}

/// `bench --defer`: the CPU defers only when told to, says so in its report, and then keeps less.
public class BenchDeferTests
{
    static System.Text.Json.JsonElement Bench(string defer)
    {
        var r = CliProcess.Run(["bench", "--device", "cpu", "--img", "64", "--batch-size", "2", "--warmup", "1", "--steps", "1", "--json", "--defer", defer]);
        Assert.True(r.Code == 0, r.Output);
        return System.Text.Json.JsonDocument.Parse(Assert.Single(r.Output.Split('\n'), l => l.StartsWith('{'))).RootElement;
    }

    [Fact]
    public void BenchDefersWhereAskedAndPeaksLower()
    {
        var auto = Bench("auto");
        var on = Bench("on");
        Assert.False(auto.GetProperty("deferred_activations").GetBoolean());
        Assert.True(on.GetProperty("deferred_activations").GetBoolean());
        Assert.True(on.GetProperty("peak_memory_mib").GetDouble() < auto.GetProperty("peak_memory_mib").GetDouble(),
            $"peak {on.GetProperty("peak_memory_mib")} MiB deferred, {auto.GetProperty("peak_memory_mib")} computed");
        var bad = CliProcess.Run(["bench", "--device", "cpu", "--defer", "sometimes"]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("--defer sometimes: expected auto, on or off", bad.Output);
        Assert.DoesNotContain("   at ", bad.Output);
    }
}
