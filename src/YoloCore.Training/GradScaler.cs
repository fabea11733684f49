namespace YoloCore.Training;

/// Dynamic loss scaling for float16 training, as torch.cuda.amp.GradScaler: the loss is multiplied
/// by the scale before backward so small gradients survive float16; before the optimizer step the
/// gradients are divided back and checked. A non-finite gradient skips the step and halves the
/// scale; 2000 clean steps in a row double it. Disabled, it passes everything through.
/// Its state lives on the device, as torch's does: the check sets a flag that the optimizer's
/// kernel reads to skip, and the update runs there too, so a step never waits for the host.
/// Reading Scale, CleanSteps or Skipped waits for the device (checkpoints and reports do it).
public sealed class GradScaler : IDisposable
{
    readonly double growth, backoff;
    readonly int growthInterval;
    // float32 scale; int32 clean-step count, skipped-step count and this step's found-inf flag.
    readonly Tensor? scale, cleanSteps, skipped, found;

    public GradScaler(bool enabled, Device device, double initialScale = 65536, double growth = 2, double backoff = 0.5, int growthInterval = 2000)
    {
        Enabled = enabled;
        (this.growth, this.backoff, this.growthInterval) = (growth, backoff, growthInterval);
        if (!enabled) return;
        scale = TensorScope.Escape(Tensor.Scalar(initialScale, DType.Float32, device));
        cleanSteps = TensorScope.Escape(Tensor.Zeros(new Shape(), DType.Int32, device));
        skipped = TensorScope.Escape(Tensor.Zeros(new Shape(), DType.Int32, device));
        found = TensorScope.Escape(Tensor.Zeros(new Shape(), DType.Int32, device));
    }

    public bool Enabled { get; }

    public double Scale { get => scale?.Item() ?? 1; set => Set(scale, value); }
    public int CleanSteps { get => (int)(cleanSteps?.Item() ?? 0); set => Set(cleanSteps, value); }
    /// Steps skipped because a gradient overflowed.
    public int Skipped { get => (int)(skipped?.Item() ?? 0); set => Set(skipped, value); }

    /// The last Unscale's verdict as an int32 scalar on the device (1: a gradient was inf or NaN,
    /// skip the step); null when disabled. The optimizer reads it.
    public Tensor? FoundNonFinite => found;

    static void Set(Tensor? state, double value) => state?.Backend.Fill(state, value);

    /// The gradient to start loss's backward from, as (loss·scale·worldSize).Backward() would give
    /// it (worldSize: DDP's, whose mean over ranks divides it again): the scale, times worldSize,
    /// on the device; null (a 1) when disabled on one rank. Seeding backward with it takes neither
    /// the product's launch nor its backward's, nor the fill of the 1. The caller disposes it.
    public Tensor? BackwardSeed(Tensor loss, int worldSize = 1)
    {
        if (scale is null) return worldSize == 1 ? null : Tensor.Full(loss.Shape, worldSize, loss.DType, loss.Device);
        if (loss.Count != 1) throw new ArgumentException($"the loss to scale must be a scalar, got {loss.Shape}");
        var seed = scale.DType == loss.DType ? scale.Detach().Reshape(loss.Shape) : scale.Cast(loss.DType).Reshape(loss.Shape);
        if (worldSize == 1) return seed;
        using (seed) return seed * worldSize;
    }

    /// Divides every gradient by the scale in place and sets FoundNonFinite, on the device.
    public void Unscale(IEnumerable<Tensor> parameters)
    {
        if (found is null) return;
        found.Backend.Fill(found, 0);
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        if (grads.Count > 0) grads[0].Backend.Extension<IOptimizerKernels>().UnscaleAndCheck(grads, scale!, found);
    }

    /// After each optimizer step (taken or skipped): adjust the scale, on the device.
    public void Update()
    {
        if (found is null) return;
        found.Backend.Extension<IOptimizerKernels>().UpdateScale(scale!, cleanSteps!, skipped!, found, growth, backoff, growthInterval);
    }

    public void Dispose()
    {
        scale?.Dispose();
        cleanSteps?.Dispose();
        skipped?.Dispose();
        found?.Dispose();
    }
}
