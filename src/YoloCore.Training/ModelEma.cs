using YoloCore.Autograd;
using YoloCore.Nn;

namespace YoloCore.Training;

/// YOLOv5's ModelEMA: an exponential moving average of every floating state-dict entry (weights and
/// BatchNorm statistics), decay d = 0.9999·(1 - e^(-updates/2000)) so the average warms up quickly.
/// Evaluation and checkpoints use the averaged copy.
public sealed class ModelEma : IDisposable
{
    readonly List<(Tensor Ema, Tensor Source)> pairs;
    // float64 [d, 1 - d] on the device, which the update's kernel reads.
    StagedValues? coefficients;

    /// ema is a second model of the same architecture (same state-dict names); it starts as a copy.
    public ModelEma(Module ema, Module source, double decay = 0.9999, double tau = 2000, int updates = 0)
    {
        Ema = ema;
        Decay = decay;
        Tau = tau;
        Updates = updates;
        var src = source.StateDict().ToDictionary(e => e.Name, e => e.Tensor);
        pairs = ema.StateDict().Select(e => (e.Tensor, src.TryGetValue(e.Name, out var s) ? s
            : throw new ArgumentException($"EMA model has {e.Name}, the source model does not"))).ToList();
        foreach (var (e, s) in pairs) e.Backend.Copy(s, e);
        Ema.Eval();
    }

    public Module Ema { get; }
    public double Decay { get; }
    public double Tau { get; }
    public int Updates { get; set; }

    public double CurrentDecay => Decay * (1 - Math.Exp(-Updates / Tau));

    /// ema = d·ema + (1 - d)·source, after incrementing the update count: Stage, then Apply.
    public void Update()
    {
        Stage();
        Apply();
    }

    /// The host half of the next update: counts it and sends its decay to the device. A captured
    /// training step calls this before each replay, outside the graph.
    public void Stage()
    {
        Updates++;
        double d = CurrentDecay;
        coefficients ??= new StagedValues(pairs.Count > 0 ? pairs[0].Ema.Device : Device.Cpu, (new Shape(2), DType.Float64));
        var c = coefficients.Host<double>(0);
        (c[0], c[1]) = (d, 1 - d);
        coefficients.Upload();
    }

    /// The device half: one multi-tensor pass with the decay last staged.
    public void Apply()
    {
        if (coefficients is null) throw new InvalidOperationException("ModelEma.Apply before Stage: the update's decay was never sent to the device");
        using var _ = GradMode.NoGrad();
        var floating = pairs.Where(p => p.Ema.DType.IsFloating()).ToList();
        if (floating.Count == 0) return;
        floating[0].Ema.Backend.Extension<IOptimizerKernels>().MultiTensorAxpby(floating.Select(p => p.Ema).ToList(), floating.Select(p => p.Source).ToList(), coefficients[0]);
    }

    public void Dispose()
    {
        coefficients?.Dispose();
        coefficients = null;
    }
}
