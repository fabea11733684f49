namespace YoloCore.Data;

/// Splits a dataset's indices between ranks like PyTorch's DistributedSampler: each epoch a
/// permutation seeded by (seed, epoch) — the same on every rank — is padded by repeating its
/// start to a multiple of the world size, and rank r takes positions r, r + world, r + 2·world...
/// Every rank gets the same number of samples, hence of batches.
public sealed class DistributedSampler
{
    public int DatasetCount { get; }
    public int Rank { get; }
    public int WorldSize { get; }
    public bool Shuffle { get; }
    public ulong Seed { get; }

    public DistributedSampler(int datasetCount, int rank = 0, int worldSize = 1, bool shuffle = true, ulong seed = 0)
    {
        if (datasetCount < 1) throw new ArgumentException("the dataset is empty");
        if (worldSize < 1 || rank < 0 || rank >= worldSize) throw new ArgumentException($"rank {rank} is outside world size {worldSize}");
        (DatasetCount, Rank, WorldSize, Shuffle, Seed) = (datasetCount, rank, worldSize, shuffle, seed);
    }

    public int SamplesPerRank => (DatasetCount + WorldSize - 1) / WorldSize;
    public int TotalSize => SamplesPerRank * WorldSize;

    /// The whole padded epoch order (all ranks), before the split between ranks.
    public int[] EpochOrder(int epoch)
    {
        var order = new int[TotalSize];
        for (int i = 0; i < DatasetCount; i++) order[i] = i;
        if (Shuffle)
        {
            var rng = new Rng(SampleSeed.Mix(Seed, 0x5A3D1E_5EEDUL, (ulong)epoch));
            for (int i = DatasetCount - 1; i > 0; i--)
            {
                int j = rng.NextInt(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
        for (int i = DatasetCount; i < TotalSize; i++) order[i] = order[i - DatasetCount];
        return order;
    }

    /// This rank's dataset indices for an epoch.
    public int[] Indices(int epoch) => Take(EpochOrder(epoch));

    int[] Take(int[] order)
    {
        var mine = new int[SamplesPerRank];
        for (int k = 0; k < mine.Length; k++) mine[k] = order[Rank + k * WorldSize];
        return mine;
    }

    /// This rank's positions in the epoch order (the global sample number that seeds augmentation).
    public int[] Positions()
    {
        var p = new int[SamplesPerRank];
        for (int k = 0; k < p.Length; k++) p[k] = Rank + k * WorldSize;
        return p;
    }
}
