using YoloCore.Diagnostics;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// yolov5n's forward and backward in training on a device in mixed precision (float16 images,
/// the Conv blocks casting their float32 weights) against the CPU's float32, from the same
/// weights and batch: whichever paths the environment turns on (the fused one, with deferred
/// activations and concatenations read in place), end to end. One step, no optimizer: the
/// loss scaler's skips and the updates would take the two runs apart.
public static class ModelStepParity
{
    /// The relative difference of the loss (Σ heads·r over the three levels), and the median and
    /// the largest relative L2 difference of a parameter's gradient or running statistic. float16
    /// through a network at initialisation, its BatchNorms over 8 values a channel at P5, is noisy:
    /// measured on the emulator, medians of 5 and 8 % (fused and default paths) and worst tensors
    /// of 11 and 16 % (BatchNorm's γ and β). What this catches is the gross: a part read in the
    /// wrong place, a gradient not added, which take whole tensors away.
    public sealed record Result(double Loss, double Median, double Worst, string WorstName)
    {
        public const double LossTolerance = 0.05, MedianTolerance = 0.15, WorstTolerance = 0.4;

        public bool Passed => Loss <= LossTolerance && Median <= MedianTolerance && Worst <= WorstTolerance;
    }

    public static Result Compare(Device device)
    {
        var gpu = Run(device, DType.Float16);
        var cpu = Run(Device.Cpu, DType.Float32);
        var errors = new List<(double Error, string Name)>();
        foreach (var (key, expected) in cpu.Values)
        {
            double e = BackendParity.RelativeError(gpu.Values[key], expected);
            errors.Add((double.IsNaN(e) ? double.PositiveInfinity : e, key)); // NaN: an inf or NaN on the device
        }
        errors.Sort();
        var worst = errors[^1];
        return new Result(Math.Abs(gpu.Loss - cpu.Loss) / Math.Max(1e-12, Math.Abs(cpu.Loss)), errors[errors.Count / 2].Error, worst.Error, worst.Name);
    }

    static (double Loss, Dictionary<string, double[]> Values) Run(Device device, DType dtype)
    {
        using var scope = TensorScope.Begin();
        using var model = new YoloModel(ModelConfig.Load("yolov5n").WithClasses(3));
        model.To(device);
        model.Train();
        var rng = new Rng(17);
        using var pixels = Tensor.Uniform(new Shape(2, 64, 64, 3), rng, 0, 1);
        using var images = pixels.To(device).Cast(dtype);
        var heads = model.ForwardHeads(images);
        Tensor? loss = null;
        foreach (var h in heads)
        {
            using var r = Tensor.Randn(h.Shape, rng).To(device);
            using var h32 = h.Cast(DType.Float32);
            var term = (h32 * r).Sum();
            loss = loss is null ? term : loss + term;
        }
        loss!.Backward(); // Σ heads·r has gradients of order 1 and more: no loss scale needed in float16
        var values = new Dictionary<string, double[]>();
        foreach (var (n, p) in model.NamedParameters())
            values["grad " + n] = p.Grad!.ToDoubles();
        foreach (var (n, t) in model.StateDict())
            if (n.EndsWith("running_mean") || n.EndsWith("running_var")) values[n] = t.ToDoubles();
        return (loss.ToDoubles()[0], values);
    }
}
