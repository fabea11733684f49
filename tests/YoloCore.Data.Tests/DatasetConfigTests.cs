using YoloCore.Data;

namespace YoloCore.Data.Tests;

public class DatasetConfigTests
{
    [Fact]
    public void Coco128YamlResolvesPathsAndClasses()
    {
        var c = DatasetConfig.Load(TestFiles.Coco128Yaml);
        Assert.Equal(80, c.ClassCount);
        Assert.Equal("person", c.Names[0]);
        Assert.Equal("toothbrush", c.Names[79]);
        Assert.Single(c.Train);
        Assert.True(Directory.Exists(c.Train[0]), c.Train[0]);
        Assert.EndsWith(Path.Combine("coco128", "images", "train2017"), c.Train[0]);
    }

    [Fact]
    public void NamesAsMapTrainAsListAndNcInferred()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["data/images/a"]);
        Directory.CreateDirectory(dir["data/images/b"]);
        File.WriteAllText(dir["d.yaml"], "path: data\ntrain: [images/a, images/b]\nval: images/b\nnames:\n  0: cat\n  1: dog\n");
        var c = DatasetConfig.Load(dir["d.yaml"]);
        Assert.Equal(2, c.ClassCount);
        Assert.Equal(["cat", "dog"], c.Names);
        Assert.Equal([dir["data/images/a"], dir["data/images/b"]], c.Train);
        Assert.Empty(c.Test);
    }

    [Fact]
    public void NcWithoutNamesGetsPlaceholderNames()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["d.yaml"], "train: images\nval: images\nnc: 3\n");
        var c = DatasetConfig.Load(dir["d.yaml"]);
        Assert.Equal(["class0", "class1", "class2"], c.Names);
        Assert.Equal(dir.Path, c.Root);
    }

    [Fact]
    public void YamlWithoutNcOrNamesIsAClearError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["d.yaml"], "path: .\ntrain: images\nval: images\n");
        var e = Assert.Throws<InvalidDataException>(() => DatasetConfig.Load(dir["d.yaml"]));
        Assert.Contains("nc:", e.Message);
        Assert.Contains("names:", e.Message);
    }

    [Fact]
    public void NcDisagreeingWithNamesIsAnError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["d.yaml"], "train: images\nval: images\nnc: 3\nnames: [a, b]\n");
        var e = Assert.Throws<InvalidDataException>(() => DatasetConfig.Load(dir["d.yaml"]));
        Assert.Contains("'names' has 2", e.Message);
    }

    [Fact]
    public void MissingYamlAndMissingDatasetPathAreClearErrors()
    {
        using var dir = new TempDir();
        var e1 = Assert.Throws<FileNotFoundException>(() => DatasetConfig.Load(dir["nope.yaml"]));
        Assert.Contains("nope.yaml", e1.Message);
        File.WriteAllText(dir["d.yaml"], "train: missing/images\nval: missing/images\nnc: 1\n");
        var c = DatasetConfig.Load(dir["d.yaml"]);
        var e2 = Assert.Throws<FileNotFoundException>(() => YoloDataset.Open(c, DatasetSplit.Train, DatasetOptions.Training(64)));
        Assert.Contains(Path.Combine("missing", "images"), e2.Message);
    }

    [Fact]
    public void TxtImageListIsReadRelativeToItsFolder()
    {
        using var dir = new TempDir();
        TestFiles.WriteGood(dir.Path, "train", "a");
        TestFiles.WriteGood(dir.Path, "train", "b");
        File.WriteAllText(dir["train.txt"], "./images/train/b.png\n./images/train/a.png\n");
        File.WriteAllText(dir["d.yaml"], "train: train.txt\nval: train.txt\nnc: 1\n");
        using var ds = YoloDataset.Open(DatasetConfig.Load(dir["d.yaml"]), DatasetSplit.Train, DatasetOptions.Training(64) with { UseLabelCache = false });
        Assert.Equal(2, ds.Count);
        Assert.EndsWith("a.png", ds.Images[0].ImagePath);   // sorted, as YOLOv5 sorts
        Assert.Equal(1, ds.Images[0].LabelCount);
    }
}
