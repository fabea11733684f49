using YoloCore.Autograd;

namespace YoloCore.Distributed;

/// Averages gradients across ranks while backward still runs. Parameters are grouped into buckets
/// (BucketPlan); each parameter's gradient-final hook marks it ready, and when a bucket's last
/// gradient is final its tensors are packed into one buffer and its all-reduce starts in the
/// background. WaitAndAverage, before the optimizer step, waits for every bucket, starts any whose
/// gradients never came (zeros: unused parameters), and writes the averages back.
public sealed class DataParallelReducer : IDisposable
{
    readonly IReadOnlyList<Tensor> parameters;
    readonly ICommunicator comm;
    readonly int[] bucketOf;
    readonly int[] pending;
    readonly Tensor?[] buffers;
    readonly Task?[] running;
    readonly Dictionary<Tensor, int> index = new(ReferenceEqualityComparer.Instance);
    int hooksSeen;

    public DataParallelReducer(IReadOnlyList<Tensor> parameters, ICommunicator comm, long bucketBytes = BucketPlan.DefaultBucketBytes,
        long firstBucketBytes = BucketPlan.DefaultFirstBucketBytes)
    {
        this.parameters = parameters;
        this.comm = comm;
        Buckets = BucketPlan.Assign(parameters.Select(p => p.Bytes).ToList(), bucketBytes, firstBucketBytes);
        bucketOf = new int[parameters.Count];
        for (int b = 0; b < Buckets.Count; b++)
            foreach (int i in Buckets[b]) bucketOf[i] = b;
        pending = new int[Buckets.Count];
        buffers = new Tensor?[Buckets.Count];
        running = new Task?[Buckets.Count];
        for (int i = 0; i < parameters.Count; i++)
        {
            index[parameters[i]] = i;
            parameters[i].OnGradFinal(OnGradFinal);
        }
        Reset();
    }

    public IReadOnlyList<int[]> Buckets { get; }

    /// (bucket, number of gradient hooks seen when its all-reduce started): lets tests see that
    /// buckets start during backward, not after it.
    public List<(int Bucket, int HooksSeen)> Launches { get; } = [];

    void Reset()
    {
        for (int b = 0; b < Buckets.Count; b++) pending[b] = Buckets[b].Length;
        hooksSeen = 0;
        Launches.Clear();
    }

    void OnGradFinal(Tensor p)
    {
        hooksSeen++;
        int b = bucketOf[index[p]];
        if (--pending[b] == 0) Launch(b);
    }

    void Launch(int b)
    {
        Launches.Add((b, hooksSeen));
        using var _ = GradMode.NoGrad();
        var parts = Buckets[b].Select(i =>
        {
            var p = parameters[i];
            return p.Grad is { } g ? g.Reshape(-1) : Tensor.Zeros(new Shape((int)p.Count), p.DType, p.Device);
        }).ToList();
        buffers[b] = TensorScope.Escape(Ops.Concat(parts, 0));
        foreach (var part in parts) part.Dispose();
        running[b] = comm.AllReduceSumAsync(buffers[b]!);
    }

    /// Waits for every bucket and replaces each gradient with its average over the ranks.
    public void WaitAndAverage()
    {
        for (int b = 0; b < Buckets.Count; b++)
            if (running[b] is null) Launch(b);
        using var _ = GradMode.NoGrad();
        for (int b = 0; b < Buckets.Count; b++)
        {
            try { running[b]!.GetAwaiter().GetResult(); }
            finally { running[b] = null; }
            var buffer = buffers[b]!;
            long offset = 0;
            using (TensorScope.Begin())
                foreach (int i in Buckets[b])
                {
                    var p = parameters[i];
                    var avg = buffer.Slice(0, (int)offset, (int)p.Count).Reshape(p.Shape) * (1.0 / comm.WorldSize);
                    if (p.Grad is null) p.SetGrad(avg.Clone());
                    else p.Backend.Copy(avg, p.Grad);
                    offset += p.Count;
                }
            buffer.Dispose();
            buffers[b] = null;
        }
        Reset();
    }

    /// Makes every rank start from rank 0's parameters and buffers.
    public static void BroadcastFromRankZero(IEnumerable<Tensor> tensors, ICommunicator comm)
    {
        foreach (var t in tensors) comm.Broadcast(t, 0);
    }

    public void Dispose()
    {
        foreach (var t in running) try { t?.GetAwaiter().GetResult(); } catch (Exception) { }
        foreach (var b in buffers) b?.Dispose();
    }
}
