namespace YoloCore.Data;

/// DataLoader settings. Results depend only on (Seed, epoch, Rank, WorldSize, BatchSize), never on
/// Workers or Prefetch: each sample's randomness is derived from its position in the epoch.
public sealed record LoaderOptions
{
    public int BatchSize { get; init; } = 16;
    /// Worker threads building batches; 0 builds them on the consuming thread.
    public int Workers { get; init; } = Math.Min(8, Environment.ProcessorCount);
    /// Batches built ahead of the consumer at most (the bounded prefetch queue).
    public int Prefetch { get; init; } = 4;
    public ulong Seed { get; init; }
    public int Rank { get; init; }
    public int WorldSize { get; init; } = 1;
    /// Reshuffle every epoch (training); rect datasets are never shuffled.
    public bool Shuffle { get; init; } = true;
    /// Where batch images are assembled; a CUDA backend passes pinned staging here.
    public IBatchStaging? Staging { get; init; }
}
