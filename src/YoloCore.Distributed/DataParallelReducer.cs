using System.Diagnostics;
using YoloCore.Autograd;

namespace YoloCore.Distributed;

/// Averages gradients across ranks while backward still runs, as PyTorch DDP does:
/// - gradients live in persistent bucket buffers (BucketPlan: about 25 MB each, a small first
///   bucket): each parameter's Grad is a view into its bucket, so autograd accumulates straight
///   into the buffer that is reduced and nothing is packed or unpacked;
/// - only the backward that closes an accumulation window communicates (DDP's no_sync for the
///   others): BeginBackward(sync: false) lets gradients accumulate locally;
/// - in a syncing backward each parameter's gradient-final hook marks it ready, and when a
///   bucket's last gradient is final its all-reduce (mean: the 1/world division is done by the
///   communicator in the same pass) starts in the background;
/// - after the first syncing step the buckets are rebuilt in the order gradients became ready
///   (rank 0's order, so every rank agrees), and hooks are removed on Dispose.
public sealed class DataParallelReducer : IDisposable
{
    readonly IReadOnlyList<Tensor> parameters;
    readonly ICommunicator comm;
    readonly long bucketBytes, firstBucketBytes;
    readonly Dictionary<Tensor, int> index = new(ReferenceEqualityComparer.Instance);
    readonly Action<Tensor> hook;
    int[] bucketOf = [];
    int[] pending = [];
    Tensor?[] buffers = [];
    Task?[] running = [];
    /// The view each parameter's Grad was given, to tell it from a gradient someone else set.
    readonly Tensor?[] views;
    readonly List<int> readyOrder = [];
    bool sync, rebuilt;
    int hooksSeen;

    public DataParallelReducer(IReadOnlyList<Tensor> parameters, ICommunicator comm, long bucketBytes = BucketPlan.DefaultBucketBytes,
        long firstBucketBytes = BucketPlan.DefaultFirstBucketBytes)
    {
        this.parameters = parameters;
        this.comm = comm;
        this.bucketBytes = bucketBytes;
        this.firstBucketBytes = firstBucketBytes;
        views = new Tensor?[parameters.Count];
        hook = OnGradFinal;
        for (int i = 0; i < parameters.Count; i++)
        {
            index[parameters[i]] = i;
            parameters[i].OnGradFinal(hook);
        }
        // Backward produces the last layers' gradients first: reverse registration order.
        Plan(Enumerable.Range(0, parameters.Count).Reverse().ToList());
    }

    public IReadOnlyList<int[]> Buckets { get; private set; } = [];

    /// (bucket, number of gradient hooks seen when its all-reduce started): lets tests see that
    /// buckets start during backward, not after it.
    public List<(int Bucket, int HooksSeen)> Launches { get; } = [];

    /// All-reduces issued so far, and the bytes they carried.
    public long Reductions { get; private set; }
    public long BytesReduced { get; private set; }
    /// Time spent in WaitAndAverage waiting for communication that backward did not hide.
    public TimeSpan ExposedWait { get; private set; }

    /// The bucket buffer holding bucket b's gradients (for tests: gradients are views into it).
    public Tensor? BucketBuffer(int b) => buffers[b];

    /// Lays the parameters (in `order`) out in buckets with a buffer each.
    void Plan(IReadOnlyList<int> order)
    {
        foreach (var b in buffers) b?.Dispose();
        Buckets = BucketPlan.InOrder(order.Select(i => parameters[i].Bytes).ToList(), bucketBytes, firstBucketBytes)
            .Select(bucket => bucket.Select(k => order[k]).ToArray()).ToList();
        bucketOf = new int[parameters.Count];
        for (int b = 0; b < Buckets.Count; b++)
            foreach (int i in Buckets[b]) bucketOf[i] = b;
        pending = new int[Buckets.Count];
        running = new Task?[Buckets.Count];
        buffers = Buckets.Select(bucket =>
        {
            var p = parameters[bucket[0]];
            if (bucket.Any(i => parameters[i].DType != p.DType || parameters[i].Device != p.Device))
                throw new ArgumentException("a gradient bucket must hold one dtype on one device");
            return (Tensor?)Tensor.EmptyUnscoped(new Shape(bucket.Sum(i => (int)parameters[i].Count)), p.DType, p.Device);
        }).ToArray();
        Array.Clear(views);
    }

    /// Before each backward. sync: this micro-batch closes the accumulation window, so its
    /// backward all-reduces; otherwise gradients only accumulate locally. Gives every parameter
    /// without its bucket view one (zeros, or the gradient it had: a resumed window).
    public void BeginBackward(bool sync)
    {
        this.sync = sync;
        hooksSeen = 0;
        Launches.Clear();
        for (int b = 0; b < Buckets.Count; b++) pending[b] = Buckets[b].Length;
        using var _ = GradMode.NoGrad();
        for (int b = 0; b < Buckets.Count; b++)
        {
            var buffer = buffers[b]!;
            var bucket = Buckets[b];
            // A new window (every gradient dropped by the optimizer): one fill for the whole bucket.
            bool fresh = bucket.All(i => parameters[i].Grad is null);
            if (fresh) buffer.Backend.Fill(buffer, 0);
            long offset = 0;
            foreach (int i in bucket)
            {
                var p = parameters[i];
                if (p.Grad is null || !ReferenceEquals(p.Grad, views[i]))
                {
                    var view = buffer.ViewRange(offset, p.Shape);
                    if (p.Grad is { } own) view.Backend.Copy(own, view); // a gradient set from outside (a resumed window)
                    else if (!fresh) view.Backend.Fill(view, 0);
                    p.SetGrad(view);
                    views[i] = view;
                }
                offset += p.Count;
            }
        }
    }

    void OnGradFinal(Tensor p)
    {
        if (!sync) return;
        int i = index[p];
        hooksSeen++;
        if (!rebuilt) readyOrder.Add(i);
        int b = bucketOf[i];
        if (--pending[b] == 0) Launch(b);
    }

    void Launch(int b)
    {
        Launches.Add((b, hooksSeen));
        var buffer = buffers[b]!;
        Reductions++;
        BytesReduced += buffer.Bytes;
        running[b] = comm.AllReduceMeanAsync(buffer);
    }

    /// After a syncing backward: starts the buckets whose gradients never came (unused
    /// parameters: their zeros or earlier micro-batches' sums are reduced too), waits for all, and
    /// leaves each gradient its average over the ranks (it is a view: nothing to copy back).
    public void WaitAndAverage()
    {
        if (!sync) throw new InvalidOperationException("WaitAndAverage after a backward that did not sync (BeginBackward(sync: false))");
        for (int b = 0; b < Buckets.Count; b++)
            if (running[b] is null) Launch(b);
        var clock = Stopwatch.StartNew();
        for (int b = 0; b < Buckets.Count; b++)
        {
            try { running[b]!.GetAwaiter().GetResult(); }
            finally { running[b] = null; }
        }
        ExposedWait += clock.Elapsed;
        sync = false;
        if (!rebuilt) RebuildFromReadyOrder();
    }

    /// DDP's rebuild_buckets: lay the buckets out in the order gradients became ready in the first
    /// syncing step (parameters that never reported, after them), as rank 0 saw it. The gradients
    /// just averaged are copied into the new buffers.
    void RebuildFromReadyOrder()
    {
        rebuilt = true;
        var order = readyOrder.Distinct().ToList();
        order.AddRange(Enumerable.Range(0, parameters.Count).Reverse().Where(i => !order.Contains(i)));
        using (TensorScope.Begin())
        {
            var shared = Tensor.FromArray(order.ToArray(), order.Count);
            comm.Broadcast(shared, 0);
            order = shared.ToArray<int>().ToList();
        }
        if (order.SequenceEqual(Buckets.SelectMany(b => b))) return;
        using var _ = GradMode.NoGrad();
        var kept = parameters.Select(p => p.Grad is { } g ? TensorScope.Escape(g.Clone()) : null).ToArray();
        foreach (var p in parameters) p.ZeroGrad();
        Plan(order);
        BeginBackward(sync: false);
        for (int i = 0; i < parameters.Count; i++)
            if (kept[i] is { } g)
            {
                parameters[i].Backend.Copy(g, parameters[i].Grad!);
                g.Dispose();
            }
    }

    /// Makes every rank start from rank 0's parameters and buffers.
    public static void BroadcastFromRankZero(IEnumerable<Tensor> tensors, ICommunicator comm)
    {
        foreach (var t in tensors) comm.Broadcast(t, 0);
    }

    public void Dispose()
    {
        foreach (var t in running) try { t?.GetAwaiter().GetResult(); } catch (Exception) { }
        foreach (var p in parameters) p.RemoveGradFinalHook(hook);
        // Gradients that are views keep their bucket's memory alive until they are dropped.
        foreach (var b in buffers) b?.Dispose();
    }
}
