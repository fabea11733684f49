using System.Diagnostics;
using YoloCore.Data;

namespace YoloCore.Data.Tests;

public class SyntheticDatasetTests
{
    [Fact]
    public void GeneratesADeterministicValidYoloDataset()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var clock = Stopwatch.StartNew();
        string yaml = SyntheticDataset.Generate(a.Path, 40, 10, 320, seed: 3);
        clock.Stop();
        SyntheticDataset.Generate(b.Path, 40, 10, 320, seed: 3);
        Assert.True(clock.Elapsed.TotalSeconds < 10, $"50 images took {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var f in Directory.EnumerateFiles(a.Path, "*", SearchOption.AllDirectories))
            Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(Path.Combine(b.Path, Path.GetRelativePath(a.Path, f))));

        var config = DatasetConfig.Load(yaml);
        Assert.Equal(["rectangle", "ellipse", "triangle"], config.Names);
        using var train = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(320));
        Assert.Equal("40 images (40 labelled, 0 backgrounds), 0 corrupt, 0 repaired", train.Summary.Line);
        Assert.All(train.Images, r => Assert.InRange(r.LabelCount, 1, 4));
        var classes = train.Images.SelectMany(r => Enumerable.Range(0, r.LabelCount).Select(i => (int)r.Labels[i * 5])).ToHashSet();
        Assert.Equal([0, 1, 2], classes.Order());
        Assert.All(train.Images.SelectMany(r => Enumerable.Range(0, r.LabelCount).Select(i => r.Labels[i * 5 + 3])), w => Assert.InRange(w, 0.03f, 0.6f));
    }

    [Fact]
    public void LabelsAreTheExactExtentOfThePaintedShapes()
    {
        // Rendered pixels (before JPEG): inside each label box the shape colour reaches all four edges.
        for (ulong seed = 0; seed < 10; seed++)
        {
            using var im = SyntheticDataset.Render(320, new Rng(seed), out var text);
            var rows = LabelFile.Parse(text, 3);
            Assert.Null(rows.Error);
            for (int i = 0; i < rows.Count; i++)
            {
                int x1 = (int)Math.Round((rows.Rows[i * 5 + 1] - rows.Rows[i * 5 + 3] / 2) * 320), x2 = (int)Math.Round((rows.Rows[i * 5 + 1] + rows.Rows[i * 5 + 3] / 2) * 320);
                int y1 = (int)Math.Round((rows.Rows[i * 5 + 2] - rows.Rows[i * 5 + 4] / 2) * 320), y2 = (int)Math.Round((rows.Rows[i * 5 + 2] + rows.Rows[i * 5 + 4] / 2) * 320);
                Assert.True(x2 - x1 >= 8 && y2 - y1 >= 8);
                // A saturated pixel on each edge of the box, none just outside it in the same rows.
                bool Saturated(int x, int y) { var p = im[x, y]; return Math.Max(p.R, Math.Max(p.G, p.B)) - Math.Min(p.R, Math.Min(p.G, p.B)) > 100; }
                Assert.Contains(Enumerable.Range(y1, y2 - y1), y => Saturated(x1, y));
                Assert.Contains(Enumerable.Range(y1, y2 - y1), y => Saturated(x2 - 1, y));
                Assert.Contains(Enumerable.Range(x1, x2 - x1), x => Saturated(x, y1));
                Assert.Contains(Enumerable.Range(x1, x2 - x1), x => Saturated(x, y2 - 1));
            }
        }
    }
}
