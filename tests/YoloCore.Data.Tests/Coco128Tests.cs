using YoloCore.Data;

namespace YoloCore.Data.Tests;

/// The real coco128 from ../shared/datasets (read in place, never copied).
public class Coco128Tests
{
    [Fact]
    public void ScanReports128ImagesWithTwoBackgroundsAndNoCorrupt()
    {
        var config = DatasetConfig.Load(TestFiles.Coco128Yaml);
        using var ds = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(640));
        Assert.Equal(128, ds.Count);
        Assert.Equal(128, ds.Summary.Images);
        Assert.Equal(126, ds.Summary.Labelled);
        Assert.Equal(2, ds.Summary.Backgrounds);
        Assert.Equal(0, ds.Summary.Corrupt);
        Assert.Equal("128 images (126 labelled, 2 backgrounds), 0 corrupt, 0 repaired", ds.Summary.Line);
        Assert.Equal(929, ds.Images.Sum(r => r.LabelCount));   // YOLOv5 counts 929 instances in coco128
    }

    [Fact]
    public void TrainingBatchHasTheRightShapes()
    {
        var config = DatasetConfig.Load(TestFiles.Coco128Yaml);
        using var ds = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(640));
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 4, Workers = 2, Seed = 0 });
        Assert.Equal(32, loader.BatchCount);
        using var b = loader.Epoch(0).First();
        Assert.Equal((4, 640, 640), (b.Size, b.Height, b.Width));
        Assert.Equal(4 * 640 * 640 * 3, b.Images.Length);
        Assert.True(b.TargetCount > 0);
        Assert.Equal(b.TargetCount * 6, b.Targets.Length);
        for (int t = 0; t < b.TargetCount; t++)
        {
            Assert.InRange(b.Targets[t * 6], 0, 3);
            Assert.InRange(b.Targets[t * 6 + 1], 0, 79);
        }
    }

    [Fact]
    public void ValidationBatchesAreRectShapes()
    {
        var config = DatasetConfig.Load(TestFiles.Coco128Yaml);
        using var ds = YoloDataset.Open(config, DatasetSplit.Val, DatasetOptions.Validation(640, batchSize: 32));
        Assert.Equal(4, ds.BatchShapes!.Count);
        Assert.All(ds.BatchShapes, s => Assert.True(s.Height % 32 == 0 && s.Width % 32 == 0 && Math.Max(s.Height, s.Width) == 672));
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 32, Workers = 2 });
        using var b = loader.BuildBatch(0, 0);
        Assert.Equal((32, ds.BatchShapes[0].Height, ds.BatchShapes[0].Width), (b.Size, b.Height, b.Width));
        Assert.All(b.Letterboxes, l => Assert.NotNull(l));
    }
}
