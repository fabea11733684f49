namespace YoloCore.Training;

/// What the trainer needs from an optimizer: its parameter groups (whose lr and momentum the
/// warmup adjusts), a step over the parameters that have gradients, and its state for checkpoints.
public interface IOptimizer : IDisposable
{
    IReadOnlyList<ParamGroup> Groups { get; }
    /// Updates every parameter that has a gradient, each gradient multiplied by gradScale first
    /// (a scalar on the device: gradient clipping folded into the update; null for 1), or none
    /// when skip (the loss scaler's int32 flag on the device) is set: Stage, then Apply.
    void Step(Tensor? gradScale = null, Tensor? skip = null);

    /// The host half of the next step: counts it and sends the groups' current hyperparameters
    /// to the device (where Apply's kernels read them). A captured training step calls this
    /// before each replay, outside the graph.
    void Stage();

    /// The device half: queues the update with the hyperparameters last staged.
    void Apply(Tensor? gradScale = null, Tensor? skip = null);

    /// Whether Apply queues device work only (no host reads), so a step using it can be captured.
    bool Capturable { get; }
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
