namespace YoloCore.Training;

/// What the trainer needs from an optimizer: its parameter groups (whose lr and momentum the
/// warmup adjusts), a step over the parameters that have gradients, and its state for checkpoints.
public interface IOptimizer : IDisposable
{
    IReadOnlyList<ParamGroup> Groups { get; }
    /// Updates every parameter that has a gradient, each gradient multiplied by gradScale first
    /// (a scalar on the device: gradient clipping folded into the update; null for 1), or none
    /// when skip (the loss scaler's int32 flag on the device) is set.
    void Step(Tensor? gradScale = null, Tensor? skip = null);
    void ZeroGrad();
    /// Named state tensors (momentum buffers, Adam moments) for checkpoints, keyed by parameter index.
    IEnumerable<(string Name, Tensor Tensor)> State(IReadOnlyList<Tensor> parameters);
    /// Optimizer steps so far (SGD: taken or skipped by the loss scaler, which it cannot see
    /// without waiting for the device; Adam: taken, as its bias correction counts them).
    int Steps { get; set; }
    /// The named state buffer of a parameter ("momentum_buffer", "exp_avg", "exp_avg_sq"),
    /// created (zeros) if it does not exist yet: checkpoints restore into it.
    Tensor StateBuffer(Tensor parameter, string name);
}
