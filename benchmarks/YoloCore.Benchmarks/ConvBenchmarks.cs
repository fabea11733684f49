using BenchmarkDotNet.Attributes;

namespace YoloCore.Benchmarks;

/// Convolution forward + backward (weight gradient, and input gradient except for the stem) for
/// every distinct convolution of yolov5n at 320×320, batch 8, NHWC, float32.
public class ConvBenchmarks
{
    public static IEnumerable<ConvShape> Shapes() => ConvShape.Load();

    [ParamsSource(nameof(Shapes))]
    public ConvShape Shape { get; set; } = null!;

    ConvStep step = null!;

    [GlobalSetup]
    public void Setup() => step = new ConvStep(Shape);

    [Benchmark]
    public void ForwardBackward() => step.Run();

    [GlobalCleanup]
    public void Cleanup() => step.Dispose();
}

/// One timed unit of convolution work: forward, then backward with a fixed output gradient.
public sealed class ConvStep : IDisposable
{
    readonly Tensor x, w, gy;

    public ConvStep(ConvShape s)
    {
        var rng = new Rng(7);
        x = TensorScope.Escape(Tensor.Randn(new Shape(ConvShape.Batch, s.H, s.W, s.Cin), rng));
        x.RequiresGrad = s.InputGrad;
        w = TensorScope.Escape(Tensor.Randn(new Shape(s.Cout, s.K, s.K, s.Cin), rng, 0.1));
        w.RequiresGrad = true;
        gy = TensorScope.Escape(Tensor.Randn(new Shape(ConvShape.Batch, s.Ho, s.Wo, s.Cout), rng));
        Stride = s.Stride;
        Pad = s.Pad;
    }

    int Stride { get; }
    int Pad { get; }

    public void Run()
    {
        using var scope = TensorScope.Begin();
        x.Conv2d(w, null, Stride, Pad).Backward(gy);
        w.ZeroGrad();
        x.ZeroGrad();
    }

    public void Dispose()
    {
        x.Dispose();
        w.Dispose();
        gy.Dispose();
    }
}
