namespace YoloCore.Training;

/// Dynamic loss scaling for float16 training, as torch.cuda.amp.GradScaler: the loss is multiplied
/// by the scale before backward so small gradients survive float16; before the optimizer step the
/// gradients are divided back and checked. A non-finite gradient skips the step and halves the
/// scale; 2000 clean steps in a row double it. Disabled, it passes everything through.
public sealed class GradScaler(bool enabled, double initialScale = 65536, double growth = 2, double backoff = 0.5, int growthInterval = 2000)
{
    public bool Enabled { get; } = enabled;
    public double Scale { get; set; } = enabled ? initialScale : 1;
    public int CleanSteps { get; set; }
    /// Steps skipped because a gradient overflowed.
    public int Skipped { get; set; }

    public Tensor ScaleLoss(Tensor loss) => Enabled ? loss * Scale : loss;

    /// Divides every gradient by the scale in place; false when any is inf or NaN (skip the step).
    public bool Unscale(IEnumerable<Tensor> parameters)
    {
        if (!Enabled) return true;
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return true;
        using var found = Tensor.Zeros(new Shape(), DType.Int32, grads[0].Device);
        grads[0].Backend.Extension<IOptimizerKernels>().UnscaleAndCheck(grads, 1 / Scale, found);
        return found.Item() == 0;
    }

    /// After each optimizer step (taken or skipped): adjust the scale.
    public void Update(bool finite)
    {
        if (!Enabled) return;
        if (!finite)
        {
            Scale *= backoff;
            CleanSteps = 0;
            Skipped++;
            return;
        }
        if (++CleanSteps >= growthInterval)
        {
            Scale *= growth;
            CleanSteps = 0;
        }
    }
}
