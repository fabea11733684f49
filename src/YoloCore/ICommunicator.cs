namespace YoloCore;

/// Collectives over the ranks of a job. Every rank must issue the same collectives in the same
/// order (as with NCCL and torch.distributed). A dead or silent peer ends a collective with an
/// exception naming the rank after the timeout, instead of hanging.
public interface ICommunicator : IDisposable
{
    int Rank { get; }
    int WorldSize { get; }
    /// Sums the tensor in place across ranks.
    void AllReduceSum(Tensor tensor);
    /// Starts the sum in the background (in issue order); the task completes when the tensor holds it.
    Task AllReduceSumAsync(Tensor tensor);
    /// As AllReduceSumAsync, divided by WorldSize in the same pass (the gradient average).
    Task AllReduceMeanAsync(Tensor tensor);
    /// Every rank receives root's tensor in place.
    void Broadcast(Tensor tensor, int root = 0);
    void Barrier();
}

/// A communicator for one process: every collective is the identity.
public sealed class SingleProcessCommunicator : ICommunicator
{
    public int Rank => 0;
    public int WorldSize => 1;
    public void AllReduceSum(Tensor tensor) { }
    public Task AllReduceSumAsync(Tensor tensor) => Task.CompletedTask;
    public Task AllReduceMeanAsync(Tensor tensor) => Task.CompletedTask;
    public void Broadcast(Tensor tensor, int root = 0) { }
    public void Barrier() { }
    public void Dispose() { }
}
