using YoloCore.Data;

namespace YoloCore.Data.Tests;

public class SamplerTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 2)]
    [InlineData(128, 3)]
    [InlineData(130, 8)]
    [InlineData(5, 8)]
    public void EveryIndexOncePerEpochAcrossRanksAndEqualBatchCounts(int n, int world)
    {
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var ranks = Enumerable.Range(0, world).Select(r => new DistributedSampler(n, r, world, shuffle: true, seed: 11)).ToArray();
            var all = ranks.SelectMany(s => s.Indices(epoch)).ToList();
            int total = ranks[0].TotalSize;
            Assert.Equal(total, all.Count);
            // Before padding (the first n positions of the epoch order) every index appears exactly once...
            var order = ranks[0].EpochOrder(epoch);
            Assert.Equal(Enumerable.Range(0, n), order.Take(n).Order());
            // ...and the ranks' shares are exactly that order: position p goes to rank p % world.
            for (int r = 0; r < world; r++)
                Assert.Equal(Enumerable.Range(0, ranks[r].SamplesPerRank).Select(k => order[r + k * world]), ranks[r].Indices(epoch));
            Assert.Equal(Enumerable.Range(0, n), all.Distinct().Order());
            Assert.Equal(total - n, all.Count - all.Distinct().Count());   // padding repeats only
            Assert.All(ranks, s => Assert.Equal(ranks[0].SamplesPerRank, s.Indices(epoch).Length));
        }
    }

    [Fact]
    public void ReshufflesPerEpochAndReproducesFromTheSeed()
    {
        var a = new DistributedSampler(100, seed: 5);
        var b = new DistributedSampler(100, seed: 5);
        var c = new DistributedSampler(100, seed: 6);
        Assert.Equal(a.Indices(0), b.Indices(0));
        Assert.NotEqual(a.Indices(0), a.Indices(1));
        Assert.NotEqual(a.Indices(0), c.Indices(0));
        Assert.Equal(Enumerable.Range(0, 100), new DistributedSampler(100, shuffle: false).Indices(0));
    }

    [Fact]
    public void LoadersOnEveryRankHaveTheSameBatchCount()
    {
        using var dir = new TempDir();
        for (int i = 0; i < 11; i++) TestFiles.WriteGood(dir.Path, "train", $"im{i}");
        using var ds = YoloDataset.Open([dir["images/train"]], 1, DatasetOptions.Training(64));
        var counts = new List<int>();
        var seen = new List<int>();
        for (int r = 0; r < 3; r++)
        {
            var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 2, Workers = 1, Rank = r, WorldSize = 3, Seed = 1 });
            int batches = 0;
            foreach (var b in loader.Epoch(2)) using (b) { batches++; seen.AddRange(b.DatasetIndices); }
            Assert.Equal(loader.BatchCount, batches);
            counts.Add(batches);
        }
        Assert.All(counts, c => Assert.Equal(2, c));   // ceil(ceil(11/3) / 2)
        Assert.Equal(Enumerable.Range(0, 11), seen.Distinct().Order());
        Assert.Equal(12, seen.Count);
    }
}
