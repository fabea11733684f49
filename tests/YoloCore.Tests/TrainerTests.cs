using YoloCore.Data;
using YoloCore.Nn.IO;
using YoloCore.Training;

namespace YoloCore.Tests;

/// The trainer end to end on tiny synthetic data: exact resume, outputs, and bad input.
public class TrainerTests() : TinyRuns("trainer", workers: 2)
{
    static Dictionary<string, float[]> Weights(string file)
    {
        var (list, _) = Safetensors.Load(file);
        try { return list.ToDictionary(e => e.Name, e => e.Tensor.ToArray<float>()); }
        finally { foreach (var (_, t) in list) t.Dispose(); }
    }

    /// Stops after the first epoch, the way Ctrl+C does.
    sealed class StopAfterFirstEpoch(CancellationTokenSource cts) : SilentReporter
    {
        public override void EpochDone(EpochResult result, string resultsCsv) => cts.Cancel();
    }

    /// batch 8: every iteration of the first epochs steps; batch 2: the first epoch ends inside an
    /// accumulation window (warm-up accumulates 3 batches by then), whose gradients must carry over.
    [Theory]
    [InlineData(8)]
    [InlineData(2)]
    public void ResumingGivesTheSameWeightsAsTrainingStraight(int batch)
    {
        var straight = new Trainer(new SilentReporter()).Run(Tiny("straight", 2) with { BatchSize = batch });
        using var cts = new CancellationTokenSource();
        var interrupted = new Trainer(new StopAfterFirstEpoch(cts)).Run(Tiny("resumed", 2) with { BatchSize = batch }, cancel: cts.Token);
        Assert.Equal(1, interrupted.EpochsRun);
        var resumed = new Trainer(new SilentReporter()).Run(Tiny("ignored", 2), resumeFrom: interrupted.SaveDir);
        Assert.Equal(1, resumed.EpochsRun);
        Assert.Equal(interrupted.SaveDir, resumed.SaveDir);
        foreach (var file in new[] { "last.safetensors", "last.state.safetensors" })
        {
            var a = Weights(Path.Combine(straight.SaveDir, "weights", file));
            var b = Weights(Path.Combine(resumed.SaveDir, "weights", file));
            Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
            foreach (var k in a.Keys) Assert.True(a[k].SequenceEqual(b[k]), $"{file}: {k} differs after resume");
        }
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.SaveDir, "results.csv")), File.ReadAllLines(Path.Combine(resumed.SaveDir, "results.csv")));
    }

    [Fact]
    public void CachingImagesInRamTrainsExactlyAsLoadingThemAgain()
    {
        // Two epochs: mosaic reads every image several times, so the second look comes from the cache.
        var plain = new Trainer(new SilentReporter()).Run(Tiny("plain", 2));
        var cached = new Trainer(new SilentReporter()).Run(Tiny("cached", 2) with { CacheImages = true });
        var a = Weights(Path.Combine(plain.SaveDir, "weights", "last.safetensors"));
        var b = Weights(Path.Combine(cached.SaveDir, "weights", "last.safetensors"));
        foreach (var k in a.Keys) Assert.True(a[k].SequenceEqual(b[k]), $"{k} differs with --cache");
        Assert.Equal(File.ReadAllLines(Path.Combine(plain.SaveDir, "results.csv")), File.ReadAllLines(Path.Combine(cached.SaveDir, "results.csv")));
    }

    [Fact]
    public void FrozenLayersKeepTheirWeightsWhileTheRestTrains()
    {
        string dump = Path.Combine(root, "frozen-steps");
        new Trainer(new SilentReporter()).Run(Tiny("frozen", 1) with { Freeze = [10], MaxSteps = 2, DumpSteps = dump });
        // The model the trainer starts from (same config and seed), written the way the dumps are.
        string initial = Path.Combine(root, "initial.safetensors");
        using (var fresh = new YoloCore.Nn.Yolo.YoloModel(YoloCore.Nn.Yolo.ModelConfig.Load("yolov5n").WithClasses(3), 5)) StateDictIO.Save(fresh, initial);
        var start = Weights(initial);
        var after = Weights(Path.Combine(dump, "step0002.safetensors"));
        int trainable = 0, moved = 0;
        foreach (var (name, w) in after)
        {
            if (name.Contains("running_") || name.EndsWith("anchors")) continue;
            bool unchanged = w.SequenceEqual(start[name]);
            if (Enumerable.Range(0, 10).Any(l => name.StartsWith($"model.{l}."))) Assert.True(unchanged, $"{name} is frozen but changed");
            else { trainable++; if (!unchanged) moved++; }
        }
        // Warm-up starts weight learning rates at 0, so a BatchNorm weight of 1 may not move yet.
        Assert.True(moved > trainable * 3 / 4, $"only {moved} of {trainable} trainable tensors moved");
    }

    [Fact]
    public void SingleClassTrainsOneItemClassOnAllBoxes()
    {
        var run = new Trainer(new SilentReporter()).Run(Tiny("single", 1) with { SingleClass = true, MaxSteps = 1 });
        var (tensors, meta) = Safetensors.Load(Path.Combine(run.SaveDir, "weights", "last.safetensors"));
        try
        {
            // Detect's 1×1 convolutions predict 3 anchors × (5 + 1 class).
            Assert.Equal(18, tensors.Single(e => e.Name == "model.24.m.0.weight").Tensor.Shape[0]);
            Assert.Equal("[\"item\"]", meta["names"]);
        }
        finally { foreach (var (_, t) in tensors) t.Dispose(); }
        using var plain = YoloDataset.Open(YoloCore.Data.DatasetConfig.Load(dataYaml), DatasetSplit.Train, DatasetOptions.Training(64));
        Assert.Contains(plain.Images.SelectMany(r => Enumerable.Range(0, r.LabelCount).Select(k => r.Labels[5 * k])), c => c > 0);
        using var set = YoloDataset.Open(YoloCore.Data.DatasetConfig.Load(dataYaml), DatasetSplit.Train, DatasetOptions.Training(64) with { SingleClass = true });
        Assert.Equal(1, set.ClassCount);
        Assert.True(set.Images.Sum(r => r.LabelCount) > 0);
        Assert.All(set.Images.SelectMany(r => Enumerable.Range(0, r.LabelCount).Select(k => r.Labels[5 * k])), c => Assert.Equal(0f, c));
    }

    [Fact]
    public void ARunWritesEveryOutput()
    {
        var r = new Trainer(new SilentReporter()).Run(Tiny("outputs", 1));
        foreach (var f in new[] { "results.csv", "opt.json", "hyp.yaml", "weights/last.safetensors", "weights/last.state.safetensors",
                     "weights/last.json", "weights/best.safetensors", "weights/best.json" })
            Assert.True(File.Exists(Path.Combine(r.SaveDir, f)), $"{f} was not written");
        // hyp.yaml is what --hyp reads: the run's values come back exactly.
        Assert.Equal(new Hyperparameters().Values.OrderBy(kv => kv.Key), Hyperparameters.Load(Path.Combine(r.SaveDir, "hyp.yaml")).Values.OrderBy(kv => kv.Key));
        var header = File.ReadLines(Path.Combine(r.SaveDir, "results.csv")).First().Split(',').Select(h => h.Trim());
        Assert.Equal(ResultsCsv.Columns, header);
        Assert.NotNull(r.Final);
    }

    sealed class Collect : SilentReporter
    {
        public List<string> Warnings { get; } = [];
        public override void Warning(string line) => Warnings.Add(line);
    }

    [Fact]
    public void BadOptionsGetClearMessagesBeforeAnythingIsWritten()
    {
        var t = new Trainer(new SilentReporter());
        Assert.Contains("dataset YAML not found", Assert.Throws<FileNotFoundException>(() => t.Run(Tiny("x", 1) with { Data = Path.Combine(root, "nope.yaml") })).Message);
        Assert.Contains("--batch-size", Assert.Throws<ArgumentException>(() => t.Run(Tiny("x", 1) with { BatchSize = 0 })).Message);
        string noNames = Path.Combine(root, "bad.yaml");
        File.WriteAllText(noNames, "path: .\ntrain: images/train\nval: images/val\n");
        var e = Assert.ThrowsAny<Exception>(() => t.Run(Tiny("x", 1) with { Data = noNames }));
        Assert.True(e.Message.Contains("nc") || e.Message.Contains("names"), e.Message);
        Assert.False(Directory.Exists(Path.Combine(root, "runs", "x", "weights", "last.json")));
    }

    [Fact]
    public void ImageSizeIsRoundedUpToTheStrideWithAWarning()
    {
        var log = new Collect();
        var r = new Trainer(log).Run(Tiny("round", 1) with { ImageSize = 50, NoVal = true });
        Assert.Contains(log.Warnings, w => w.Contains("--img-size 50") && w.Contains("64"));
        Assert.True(File.Exists(Path.Combine(r.SaveDir, "weights", "last.json")));
    }

    /// A copy of the tiny dataset that a test may break.
    string CopyOfData(string name)
    {
        string src = Path.GetDirectoryName(dataYaml)!, dst = Path.Combine(root, name);
        foreach (var f in Directory.GetFiles(src, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".cache")))
        {
            string to = Path.Combine(dst, Path.GetRelativePath(src, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        return Path.Combine(dst, Path.GetFileName(dataYaml));
    }

    [Fact]
    public void ATrainingSetWithoutLabelsIsRefusedNamingTheFolder()
    {
        string yaml = CopyOfData("nolabels");
        string labels = Path.Combine(Path.GetDirectoryName(yaml)!, "labels", "train");
        Directory.Delete(labels, recursive: true);
        var e = Assert.Throws<InvalidDataException>(() => new Trainer(new SilentReporter()).Run(Tiny("x", 1) with { Data = yaml }));
        Assert.Contains($"no labels found in {labels}", e.Message);
    }

    [Fact]
    public void AValidationSetWithoutLabelsWarnsAndTrains()
    {
        string yaml = CopyOfData("novallabels");
        Directory.Delete(Path.Combine(Path.GetDirectoryName(yaml)!, "labels", "val"), recursive: true);
        var log = new Collect();
        new Trainer(log).Run(Tiny("x", 1) with { Data = yaml, MaxSteps = 1 });
        Assert.Contains(log.Warnings, w => w.StartsWith("val: no labels found in") && w.Contains("metrics cannot be computed"));
    }

    [Fact]
    public void EveryRepairedOrSkippedFileIsWarnedAboutByName()
    {
        string yaml = CopyOfData("repairs");
        string labels = Path.Combine(Path.GetDirectoryName(yaml)!, "labels", "train");
        var first = Directory.GetFiles(labels, "*.txt").Order().First();
        var line = File.ReadLines(first).First();
        File.AppendAllText(first, line + "\n");
        var second = Directory.GetFiles(labels, "*.txt").Order().Skip(1).First();
        File.WriteAllText(second, "9 0.5 0.5 0.1 0.1\n"); // class 9 of 3: the image is skipped
        var log = new Collect();
        var infos = new List<string>();
        new Trainer(new CollectBoth(log.Warnings, infos)).Run(Tiny("x", 1) with { Data = yaml, MaxSteps = 1 });
        string stem(string f) => Path.GetFileNameWithoutExtension(f);
        Assert.Contains(log.Warnings, w => w.StartsWith("train: ") && w.Contains(stem(first)) && w.Contains("1 duplicate labels removed"));
        Assert.Contains(log.Warnings, w => w.StartsWith("train: ignoring corrupt image and/or label") && w.Contains(stem(second)));
        Assert.Contains(infos, l => l.StartsWith("train: ") && l.EndsWith("1 corrupt, 1 repaired"));
    }

    sealed class CollectBoth(List<string> warnings, List<string> infos) : SilentReporter
    {
        public override void Warning(string line) => warnings.Add(line);
        public override void Info(string line) => infos.Add(line);
    }

    /// After each epoch's bar, one line says whether the loader or the steps limit training.
    [Fact]
    public void EachEpochSaysWhetherTheLoaderOrTheStepsSetThePace()
    {
        var lines = new List<string>();
        new Trainer(new CollectBoth([], lines)).Run(Tiny("pace", 2));
        var pace = lines.Where(l => l.Contains("set the pace")).ToList();
        Assert.Equal(2, pace.Count);
        Assert.All(pace, l => Assert.Matches(@"^ +loader [\d.]+ images/s \(\d+ workers\), steps [\d.]+ images/s; waited [\d.]+ s of [\d.]+ s for data: the (loader|steps) set the pace$", l));
    }

    /// train.py's transfer from a YOLOv5 .pt: every entry of matching name and shape ('model',
    /// not 'ema'), counted over PyTorch's state dict (349 for yolov5n, num_batches_tracked
    /// included); without --cfg the model is the checkpoint's own and its anchors come too, with
    /// --cfg they are left out, as train.py does.
    [Fact]
    public void AYoloV5CheckpointSeedsTrainingAsTrainPyDoes()
    {
        string pt = Path.Combine(Golden.GoldenCase.Directory, "val_synth_n3", "weights.pt");
        var lines = new List<string>();
        var run = new Trainer(new CollectBoth([], lines)).Run(Tiny("transfer", 1) with { Cfg = null, Weights = pt, MaxSteps = 1 });
        Assert.Contains($"Transferred 349/349 items from {pt}", lines);
        Assert.True(File.Exists(Path.Combine(run.SaveDir, "weights.yaml")), "the checkpoint's model config is kept in the run folder");
        // --resume rebuilds the same model from the options the run recorded.
        Assert.Contains("weights.yaml", File.ReadAllText(Path.Combine(run.SaveDir, "opt.json")));
        lines.Clear();
        new Trainer(new CollectBoth([], lines)).Run(Tiny("transfer-cfg", 1) with { Cfg = "yolov5n", Weights = pt, MaxSteps = 1 });
        Assert.Contains($"Transferred 348/349 items from {pt}", lines);
    }

    [Fact]
    public void AnUnwritableOutputFolderIsReported()
    {
        string file = Path.Combine(root, "blocker");
        File.WriteAllText(file, "a file where the project folder should be");
        var e = Assert.ThrowsAny<IOException>(() => new Trainer(new SilentReporter()).Run(Tiny("x", 1) with { Project = file }));
        Assert.Contains("output folder", e.Message);
    }
}

public class PinnedStagingTests
{
    [Fact]
    public void PinnedUploadsGiveTheSameImagesAsPlainCopiesAndReuseBuffers()
    {
        string root = Path.Combine(Path.GetTempPath(), $"yolocore-pinned-{Guid.NewGuid():N}");
        try
        {
            var yaml = SyntheticDataset.Generate(root, 12, 4, 64, seed: 1);
            var config = DatasetConfig.Load(yaml);
            using var set = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(64));
            var backend = Backends.For(Device.Cpu);
            using var pinned = new PinnedBatchStaging(backend);
            var withPinned = new DataLoader(set, new LoaderOptions { BatchSize = 4, Workers = 2, Seed = 3, Staging = pinned });
            var plain = new DataLoader(set, new LoaderOptions { BatchSize = 4, Workers = 2, Seed = 3 });
            for (int epoch = 0; epoch < 2; epoch++)
            {
                using var a = withPinned.Epoch(epoch).GetEnumerator();
                using var b = plain.Epoch(epoch).GetEnumerator();
                while (a.MoveNext() && b.MoveNext())
                {
                    using var pa = a.Current;
                    using var pb = b.Current;
                    Assert.NotEqual(0, pa.Buffer.PinnedAddress);
                    var (images, fence) = pinned.Upload(pa);
                    backend.DeviceWait(fence);
                    using (images)
                    using (TensorScope.Begin())
                        Assert.Equal(pb.ImagesTensor().ToArray<byte>(), images.ToArray<byte>());
                }
            }
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
