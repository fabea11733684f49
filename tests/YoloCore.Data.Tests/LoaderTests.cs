using System.Security.Cryptography;
using YoloCore.Data;

namespace YoloCore.Data.Tests;

/// A small synthetic dataset shared by the loader tests, deleted afterwards.
public sealed class SynthFixture : IDisposable
{
    readonly TempDir dir = new();
    public string Yaml { get; }
    public SynthFixture() => Yaml = SyntheticDataset.Generate(dir.Path, 24, 6, 160, seed: 7);
    public void Dispose() => dir.Dispose();
}

public class LoaderTests(SynthFixture fixture) : IClassFixture<SynthFixture>
{
    readonly Lazy<string> synth = new(() => fixture.Yaml);

    static List<string> Fingerprints(YoloDataset ds, int workers, int epoch, int batches, IBatchStaging? staging = null)
    {
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 4, Workers = workers, Seed = 123, Prefetch = 2, Staging = staging });
        var prints = new List<string>();
        foreach (var b in loader.Epoch(epoch))
        {
            using (b)
            {
                var h = SHA256.HashData(b.Images.Span);
                var t = SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.Targets.AsSpan()));
                prints.Add($"{b.Index}:{string.Join(",", b.DatasetIndices)}:{Convert.ToHexString(h)[..16]}:{Convert.ToHexString(t)[..16]}:{b.TargetCount}");
            }
            if (prints.Count == batches) break;   // also exercises stopping an epoch early
        }
        return prints;
    }

    [Fact]
    public void SameSeedGivesIdenticalBatchesForAnyWorkerCount()
    {
        var config = DatasetConfig.Load(synth.Value);
        using var ds = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(160));
        var a = Fingerprints(ds, 2, 1, 4);
        var b = Fingerprints(ds, 2, 1, 4);
        var c = Fingerprints(ds, 1, 1, 4);
        var d = Fingerprints(ds, 0, 1, 4);
        var e = Fingerprints(ds, 3, 1, 4);
        Assert.Equal(4, a.Count);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.Equal(a, d);
        Assert.Equal(a, e);
        Assert.NotEqual(a, Fingerprints(ds, 2, 2, 4));   // another epoch, other batches
    }

    /// The loader's account of an epoch: every image built once, the workers' time, and the
    /// consumer's waits (all of the building when there are no workers).
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void StatsCountTheEpochsImagesAndTheWaits(int workers)
    {
        var config = DatasetConfig.Load(synth.Value);
        using var ds = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(160));
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 5, Workers = workers, Seed = 1 });
        foreach (var b in loader.Epoch(0)) b.Dispose();
        var stats = loader.Stats;
        Assert.Equal(24, stats.Images);
        Assert.Equal(Math.Max(1, workers), stats.Workers);
        Assert.True(stats.BuildSeconds > 0 && double.IsFinite(stats.ImagesPerSecond));
        if (workers == 0) Assert.Equal(stats.BuildSeconds, stats.WaitSeconds, 1e-9);
        else Assert.True(stats.WaitSeconds <= stats.BuildSeconds + 1, $"waited {stats.WaitSeconds} s for {stats.BuildSeconds} s of building");
        if (workers > 0) return;
        foreach (var b in loader.Epoch(1).Take(2)) b.Dispose();
        Assert.Equal(10, loader.Stats.Images); // a new epoch starts the count again
    }

    [Fact]
    public void BatchesAreNhwcWithCollatedTargets()
    {
        var config = DatasetConfig.Load(synth.Value);
        using var ds = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(160));
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 5, Workers = 2, Seed = 1 });
        Assert.Equal(5, loader.BatchCount);   // 24 images: 4 full batches and one of 4
        int n = 0;
        foreach (var b in loader.Epoch(0))
        {
            using (b)
            {
                Assert.Equal((160, 160), (b.Height, b.Width));
                Assert.Equal(b.Size * 160 * 160 * 3, b.Images.Length);
                for (int t = 0; t < b.TargetCount; t++)
                {
                    var row = b.Targets.AsSpan(t * 6, 6);
                    Assert.InRange(row[0], 0, b.Size - 1);
                    Assert.InRange(row[1], 0, 2);
                    for (int k = 2; k < 6; k++) Assert.InRange(row[k], 0f, 1f);
                    Assert.True(row[4] > 0 && row[5] > 0);
                }
                n += b.Size;
            }
        }
        Assert.Equal(24, n);
    }

    sealed class CountingStaging : IBatchStaging
    {
        public int Rented, Returned;
        public StagingBuffer Rent(int byteCount) { Interlocked.Increment(ref Rented); return new StagingBuffer(new byte[byteCount], 0, this); }
        public void Return(StagingBuffer buffer) { Assert.Same(this, buffer.Owner); Interlocked.Increment(ref Returned); }
    }

    [Fact]
    public void StagingHookReceivesEveryBufferBackEvenWhenAnEpochStopsEarly()
    {
        var config = DatasetConfig.Load(synth.Value);
        using var ds = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(160));
        var staging = new CountingStaging();
        var prints = Fingerprints(ds, 2, 0, 2, staging);
        Assert.Equal(prints, Fingerprints(ds, 2, 0, 2));   // staging does not change the bytes
        Assert.True(staging.Rented >= 2);
        Assert.Equal(staging.Rented, staging.Returned);
    }

    [Fact]
    public void ValidationLoaderGivesRectBatchesInAspectOrder()
    {
        var config = DatasetConfig.Load(synth.Value);
        using var ds = YoloDataset.Open(config, DatasetSplit.Val, DatasetOptions.Validation(160, batchSize: 4));
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 4, Workers = 2 });
        var batches = loader.Epoch(0).ToList();
        Assert.Equal([4, 2], batches.Select(b => b.Size));
        Assert.Equal([0, 1, 2, 3, 4, 5], batches.SelectMany(b => b.DatasetIndices));
        // Square synthetic images: rect shape (ceil(5 + 0.5)·32)² = 192.
        Assert.All(batches, b => Assert.Equal((192, 192), (b.Height, b.Width)));
        Assert.All(batches.SelectMany(b => b.Letterboxes), l => Assert.Equal((16, 16, 1.0), (l!.Value.PadLeft, l.Value.PadTop, l.Value.GainX)));
        batches.ForEach(b => b.Dispose());
        Assert.Throws<ArgumentException>(() => new DataLoader(ds, new LoaderOptions { BatchSize = 8 }));
    }

    [Fact]
    public void RamImageCacheGivesTheSameSamples()
    {
        var config = DatasetConfig.Load(synth.Value);
        using var plain = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(160));
        using var cached = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(160) with { CacheImages = true });
        Assert.Equal(Fingerprints(plain, 2, 0, 3), Fingerprints(cached, 2, 0, 3));
        Assert.Equal(Fingerprints(plain, 2, 1, 3), Fingerprints(cached, 2, 1, 3));
    }
}
