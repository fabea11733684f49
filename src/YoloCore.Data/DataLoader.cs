namespace YoloCore.Data;

/// Batches of a YoloDataset for one rank: worker threads build whole batches ahead of the consumer
/// through a bounded prefetch window, and the consumer receives them in order. Batch k of an epoch
/// is the same bytes whatever the worker count or thread timing, because each sample's augmentation
/// is seeded by (seed, epoch, its position in the epoch's global order).
///
///     foreach (var batch in loader.Epoch(epoch)) using (batch) { ... }
public sealed class DataLoader
{
    public YoloDataset Dataset { get; }
    public LoaderOptions Options { get; }
    public DistributedSampler Sampler { get; }
    readonly IBatchStaging staging;

    public DataLoader(YoloDataset dataset, LoaderOptions options)
    {
        if (options.BatchSize < 1) throw new ArgumentException("batch size must be at least 1");
        if (options.Workers < 0 || options.Prefetch < 1) throw new ArgumentException("workers must be ≥ 0 and prefetch ≥ 1");
        bool shuffle = options.Shuffle;
        if (dataset.Options.Rect)
        {
            // Rect shapes are per dataset batch: batches must be the dataset's own, in order.
            if (options.BatchSize != dataset.Options.BatchSize)
                throw new ArgumentException($"rect dataset was built for batch size {dataset.Options.BatchSize}, the loader uses {options.BatchSize}");
            if (options.WorldSize != 1) throw new ArgumentException("rect batches are for single-process loading (validation runs on one rank, as in YOLOv5)");
            shuffle = false;
        }
        Dataset = dataset;
        Options = options;
        Sampler = new DistributedSampler(dataset.Count, options.Rank, options.WorldSize, shuffle, options.Seed);
        staging = options.Staging ?? ManagedBatchStaging.Shared;
    }

    /// How the current (or last) epoch's batches were made, for telling a slow loader from a slow step.
    public LoaderStats Stats => new(Volatile.Read(ref images), TimeSpan.FromTicks(Volatile.Read(ref buildTicks)).TotalSeconds,
        workersUsed, TimeSpan.FromTicks(waitTicks).TotalSeconds);
    int images, workersUsed = 1;
    long buildTicks, waitTicks;

    void Built(Batch b, long ticks)
    {
        Interlocked.Add(ref images, b.Size);
        Interlocked.Add(ref buildTicks, ticks);
    }

    /// Batches per epoch on this rank (the last one may be smaller); the same on every rank.
    public int BatchCount => (Sampler.SamplesPerRank + Options.BatchSize - 1) / Options.BatchSize;

    public IEnumerable<Batch> Epoch(int epoch)
    {
        var indices = Sampler.Indices(epoch);
        var positions = Sampler.Positions();
        (images, buildTicks, waitTicks) = (0, 0, 0);
        workersUsed = Options.Workers == 0 ? 1 : Math.Min(Options.Workers, BatchCount);
        if (Options.Workers == 0)
        {
            for (int k = 0; k < BatchCount; k++)
            {
                // Built on the consumer's thread: all of it is waiting.
                long t = System.Diagnostics.Stopwatch.GetTimestamp();
                var b = BuildBatch(epoch, k, indices, positions);
                long ticks = System.Diagnostics.Stopwatch.GetElapsedTime(t).Ticks;
                Built(b, ticks);
                waitTicks += ticks;
                yield return b;
            }
            yield break;
        }
        var run = new PrefetchRun(this, epoch, indices, positions);
        try
        {
            for (int k = 0; k < BatchCount; k++) yield return run.Take(k);
        }
        finally { run.Stop(); }
    }

    /// Builds batch k of an epoch on the calling thread.
    public Batch BuildBatch(int epoch, int k) => BuildBatch(epoch, k, Sampler.Indices(epoch), Sampler.Positions());

    Batch BuildBatch(int epoch, int k, int[] indices, int[] positions)
    {
        int start = k * Options.BatchSize, n = Math.Min(Options.BatchSize, indices.Length - start);
        var (h, w) = (0, 0);
        StagingBuffer? buffer = null;
        var targets = new List<float>();
        var datasetIndices = new int[n];
        var paths = new string[n];
        var letterboxes = new LetterboxInfo?[n];
        try
        {
            for (int i = 0; i < n; i++)
            {
                int index = indices[start + i];
                using var sample = Dataset.GetItem(index, SampleSeed.ForSample(Options.Seed, epoch, positions[start + i]));
                if (buffer is null)
                {
                    (h, w) = (sample.Image.Height, sample.Image.Width);
                    buffer = staging.Rent(n * h * w * 3);
                }
                if (sample.Image.Height != h || sample.Image.Width != w)
                    throw new InvalidOperationException($"batch {k} mixes image shapes {w}x{h} and {sample.Image.Width}x{sample.Image.Height}");
                sample.Image.Pixels.CopyTo(buffer.Memory.Span.Slice(i * h * w * 3, h * w * 3));
                var l = sample.Labels;
                for (int j = 0; j + 4 < l.Length; j += 5)
                    targets.AddRange([i, l[j], l[j + 1], l[j + 2], l[j + 3], l[j + 4]]);
                datasetIndices[i] = index;
                paths[i] = sample.Path;
                letterboxes[i] = sample.Letterbox;
            }
        }
        catch
        {
            if (buffer is not null) staging.Return(buffer);
            throw;
        }
        return new Batch(k, h, w, buffer!, staging, targets.ToArray(), datasetIndices, paths, letterboxes);
    }

    /// One epoch's worker threads and the window of batches built but not yet taken.
    sealed class PrefetchRun
    {
        readonly DataLoader loader;
        readonly int epoch;
        readonly int[] indices, positions;
        readonly Batch?[] slots;
        readonly SemaphoreSlim window;
        readonly Thread[] threads;
        readonly object gate = new();
        int next = -1;
        volatile bool stopped;
        Exception? error;

        public PrefetchRun(DataLoader loader, int epoch, int[] indices, int[] positions)
        {
            (this.loader, this.epoch, this.indices, this.positions) = (loader, epoch, indices, positions);
            slots = new Batch?[loader.BatchCount];
            window = new SemaphoreSlim(loader.Options.Prefetch);
            threads = new Thread[Math.Min(loader.Options.Workers, loader.BatchCount)];
            for (int t = 0; t < threads.Length; t++)
            {
                threads[t] = new Thread(Work) { IsBackground = true, Name = $"yolocore-data-{t}" };
                threads[t].Start();
            }
        }

        void Work()
        {
            while (true)
            {
                window.Wait();
                if (stopped) return;
                int k = Interlocked.Increment(ref next);
                if (k >= slots.Length) { window.Release(); return; }
                try
                {
                    long t = System.Diagnostics.Stopwatch.GetTimestamp();
                    var b = loader.BuildBatch(epoch, k, indices, positions);
                    loader.Built(b, System.Diagnostics.Stopwatch.GetElapsedTime(t).Ticks);
                    lock (gate) { slots[k] = b; Monitor.PulseAll(gate); }
                }
                catch (Exception e)
                {
                    lock (gate) { error ??= e; Monitor.PulseAll(gate); }
                    return;
                }
            }
        }

        public Batch Take(int k)
        {
            Batch b;
            long t = System.Diagnostics.Stopwatch.GetTimestamp();
            lock (gate)
            {
                while (slots[k] is null && error is null) Monitor.Wait(gate);
                loader.waitTicks += System.Diagnostics.Stopwatch.GetElapsedTime(t).Ticks;
                if (slots[k] is null) throw new InvalidOperationException($"data loader worker failed: {error!.Message}", error);
                b = slots[k]!;
                slots[k] = null;
            }
            window.Release();
            return b;
        }

        public void Stop()
        {
            stopped = true;
            window.Release(threads.Length);
            foreach (var t in threads) t.Join();
            lock (gate)
                for (int i = 0; i < slots.Length; i++) { slots[i]?.Dispose(); slots[i] = null; }
            window.Dispose();
        }
    }
}

/// Images: built this epoch so far; BuildSeconds: the workers' time building them, added up;
/// WaitSeconds: how long the consumer waited for a batch.
public readonly record struct LoaderStats(int Images, double BuildSeconds, int Workers, double WaitSeconds)
{
    /// What the loader sustains with every worker busy.
    public double ImagesPerSecond => BuildSeconds > 0 ? Images * Workers / BuildSeconds : double.PositiveInfinity;
}
