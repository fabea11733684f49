namespace YoloCore.Cpu;

/// Splits a range into contiguous chunks run on the thread pool. Work is partitioned by count,
/// not by timing, so every chunk computes the same thing whichever thread runs it.
internal static class CpuParallel
{
    public static int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// body(start, end) over [0, count), in chunks of at least `grain` items.
    public static void For(long count, long grain, Action<long, long> body)
    {
        if (count <= 0) return;
        int chunks = (int)Math.Min(MaxThreads * 4L, Math.Max(1, count / Math.Max(1, grain)));
        if (chunks <= 1 || MaxThreads <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = MaxThreads }, c =>
        {
            long start = count * c / chunks, end = count * (c + 1) / chunks;
            if (end > start) body(start, end);
        });
    }
}
