using YoloCore.Data;

namespace YoloCore.Data.Tests;

/// Every kind of bad input from the issue, in one small dataset: each is skipped or repaired as
/// YOLOv5's verify_image_label does, counted, reported with its file name, and training over the
/// dataset runs without losing a good image.
public class BadInputTests
{
    static string Build(TempDir dir)
    {
        string root = dir["ds"];
        TestFiles.WriteGood(root, "train", "good1");
        TestFiles.WriteGood(root, "train", "good2");
        // Missing label file: a background.
        TestFiles.WriteGood(root, "train", "nolabel");
        File.Delete(Path.Combine(root, "labels", "train", "nolabel.txt"));
        // Empty label file: a background.
        TestFiles.WriteGood(root, "train", "emptylabel");
        TestFiles.WriteLabel(root, "train", "emptylabel", "");
        // Duplicate rows: repaired with a warning.
        TestFiles.WriteGood(root, "train", "dupes");
        TestFiles.WriteLabel(root, "train", "dupes", "0 0.3 0.4 0.2 0.3\n0 0.3 0.4 0.2 0.3\n");
        // Label files that make their image corrupt.
        TestFiles.WriteGood(root, "train", "fields");
        TestFiles.WriteLabel(root, "train", "fields", "0 0.3 0.4 0.2\n");
        TestFiles.WriteGood(root, "train", "badclass");
        TestFiles.WriteLabel(root, "train", "badclass", "5 0.3 0.4 0.2 0.3\n");
        TestFiles.WriteGood(root, "train", "outside");
        TestFiles.WriteLabel(root, "train", "outside", "0 0.3 1.4 0.2 0.3\n");
        TestFiles.WriteGood(root, "train", "negsize");
        TestFiles.WriteLabel(root, "train", "negsize", "0 0.3 0.4 -0.2 0.3\n");
        // Images that cannot be read.
        Directory.CreateDirectory(Path.Combine(root, "images", "train"));
        File.WriteAllBytes(Path.Combine(root, "images", "train", "empty.jpg"), []);
        File.WriteAllText(Path.Combine(root, "images", "train", "text.jpg"), "this is not an image");
        var png = File.ReadAllBytes(Path.Combine(root, "images", "train", "good1.png"));
        File.WriteAllBytes(Path.Combine(root, "images", "train", "truncated.png"), png[..(png.Length / 2)]);
        var tiny = RgbImage.Filled(8, 8, 50);
        TestFiles.Save(tiny, Path.Combine(root, "images", "train", "tiny.png"));
        // A JPEG cut inside its header is corrupt; one that only lost its end marker is restored.
        var jpegPath = Path.Combine(root, "images", "train", "jpegsrc.jpg");
        using (var im = RgbImage.Filled(64, 48, 90)) TestFiles.Save(im, jpegPath);
        var jpeg = File.ReadAllBytes(jpegPath);
        File.Delete(jpegPath);
        File.WriteAllBytes(Path.Combine(root, "images", "train", "jpeghead.jpg"), jpeg[..100]);
        File.WriteAllBytes(Path.Combine(root, "images", "train", "jpegnoeoi.jpg"), jpeg[..^2]);
        File.WriteAllText(dir["d.yaml"], "path: ds\ntrain: images/train\nval: images/train\nnames: [a, b]\n");
        return dir["d.yaml"];
    }

    [Fact]
    public void BadFilesAreCountedAndNamedAndGoodOnesKept()
    {
        using var dir = new TempDir();
        var config = DatasetConfig.Load(Build(dir));
        using var ds = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(64));
        var s = ds.Summary;
        // good1, good2, dupes labelled; nolabel, emptylabel, jpegnoeoi backgrounds.
        Assert.Equal(3, s.Labelled);
        Assert.Equal(3, s.Backgrounds);
        Assert.Equal(6, ds.Count);
        var corrupt = s.CorruptFiles.ToDictionary(c => Path.GetFileName(c.File), c => c.Reason);
        Assert.Equal(["badclass.png", "empty.jpg", "fields.png", "jpeghead.jpg", "negsize.png", "outside.png", "text.jpg", "tiny.png", "truncated.png"],
            corrupt.Keys.Order());
        Assert.Equal(9, s.Corrupt);
        Assert.Contains("labels require 5 columns", corrupt["fields.png"]);
        Assert.Contains("class 5 outside [0, 2)", corrupt["badclass.png"]);
        Assert.Contains("non-normalized or out of bounds coordinates", corrupt["outside.png"]);
        Assert.Contains("negative label values", corrupt["negsize.png"]);
        Assert.Contains("empty file", corrupt["empty.jpg"]);
        Assert.Contains("<10 pixels", corrupt["tiny.png"]);
        var warnings = s.Warnings.ToDictionary(w => Path.GetFileName(w.File), w => w.Warning);
        Assert.Equal("1 duplicate labels removed", warnings["dupes.png"]);
        Assert.Contains("no end marker", warnings["jpegnoeoi.jpg"]);
        Assert.Equal("6 images (3 labelled, 3 backgrounds), 9 corrupt, 2 repaired", s.Line);
        // One WARNING per skipped and per repaired file, each naming it.
        var lines = s.Lines().ToList();
        Assert.Equal(1 + 9 + 2, lines.Count);
        Assert.Contains(lines, l => l.StartsWith("WARNING: ignoring corrupt image and/or label") && l.Contains("fields.png: ") && l.Contains("5 columns"));
        Assert.Contains(lines, l => l.StartsWith("WARNING: ") && l.Contains("dupes.png: 1 duplicate labels removed"));
        Assert.Contains(lines, l => l.StartsWith("WARNING: ") && l.Contains("jpegnoeoi.jpg: corrupt JPEG"));

        // Training over it: every usable image appears once per epoch, nothing throws.
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 4, Workers = 2, Seed = 3 });
        var seen = new List<int>();
        foreach (var b in loader.Epoch(0)) using (b) seen.AddRange(b.DatasetIndices);
        Assert.Equal(Enumerable.Range(0, 6), seen.Order());
    }

    [Fact]
    public void MissingLabelsFolderMakesEveryImageABackground()
    {
        using var dir = new TempDir();
        TestFiles.WriteGood(dir.Path, "train", "a");
        TestFiles.WriteGood(dir.Path, "train", "b");
        Directory.Delete(dir["labels"], true);
        using var ds = YoloDataset.Open([dir["images/train"]], 1, DatasetOptions.Training(64));
        Assert.Equal(0, ds.Summary.Labelled);
        Assert.Equal(2, ds.Summary.Backgrounds);
        Assert.Contains("does not exist", ds.Summary.Note);
        using var sample = ds.GetItem(0, new Rng(1));
        Assert.Equal(0, sample.LabelCount);
    }

    [Fact]
    public void ImageThatBreaksAfterTheScanTrainsAsGreyBackground()
    {
        using var dir = new TempDir();
        TestFiles.WriteGood(dir.Path, "train", "a");
        TestFiles.WriteGood(dir.Path, "train", "b");
        using var ds = YoloDataset.Open([dir["images/train"]], 1, DatasetOptions.Training(64) with { UseLabelCache = false });
        File.WriteAllText(dir["images/train/a.png"], "gone");
        using var sample = ds.GetItem(0, new Rng(1));   // mosaic may also pull image a
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 2, Workers = 1 });
        foreach (var b in loader.Epoch(0)) b.Dispose();
        Assert.True(ds.LoadFailures.ContainsKey(dir["images/train/a.png"]));
    }

    [Fact]
    public void LabelCacheIsWrittenBesideLabelsAndInvalidatedByChanges()
    {
        using var dir = new TempDir();
        TestFiles.WriteGood(dir.Path, "train", "a");
        TestFiles.WriteGood(dir.Path, "train", "b");
        var opts = DatasetOptions.Training(64);
        using (var ds = YoloDataset.Open([dir["images/train"]], 2, opts))
            Assert.Contains("written", ds.Summary.CacheInfo);
        Assert.True(File.Exists(dir["labels/train.cache"]));
        using (var ds = YoloDataset.Open([dir["images/train"]], 2, opts))
        {
            Assert.Contains("read from cache", ds.Summary.CacheInfo);
            Assert.Equal(2, ds.Summary.Labelled);
        }
        // Changing a label file (content and size) invalidates the cache.
        TestFiles.WriteLabel(dir.Path, "train", "b", "1 0.5 0.5 0.25 0.25\n1 0.2 0.2 0.1 0.1\n");
        using (var ds = YoloDataset.Open([dir["images/train"]], 2, opts))
        {
            Assert.Contains("written", ds.Summary.CacheInfo);
            Assert.Equal(2, ds.Images[1].LabelCount);
            Assert.Equal(1f, ds.Images[1].Labels[0]);
        }
        // So does the class count (a class that was valid may no longer be).
        using (var ds = YoloDataset.Open([dir["images/train"]], 1, opts))
            Assert.Equal(1, ds.Summary.Corrupt);
    }

    [Fact]
    public void DamagedCacheFileIsRebuilt()
    {
        using var dir = new TempDir();
        TestFiles.WriteGood(dir.Path, "train", "a");
        using (YoloDataset.Open([dir["images/train"]], 1, DatasetOptions.Training(64))) { }
        var bytes = File.ReadAllBytes(dir["labels/train.cache"]);
        File.WriteAllBytes(dir["labels/train.cache"], bytes[..(bytes.Length - 7)]);
        using var ds = YoloDataset.Open([dir["images/train"]], 1, DatasetOptions.Training(64));
        Assert.Contains("written", ds.Summary.CacheInfo);
        Assert.Equal(1, ds.Summary.Labelled);
    }
}
