using System.Diagnostics;
using YoloCore.Data;

namespace YoloCore.Benchmarks;

/// `dotnet run -c Release --project benchmarks/YoloCore.Benchmarks -- --data-table [--runs 5]`:
/// single-thread (per core) throughput of the data pipeline on coco128 from ../shared/datasets
/// (or $YOLOCORE_DATASETS_DIR): JPEG decode, the mosaic training pipeline at 640 and the validation
/// letterbox at 640 (and the mosaic pipeline with decoded images cached in RAM,
/// YOLOv5's --cache ram), each the best of --runs passes over the 128 images after one warm-up pass.
public static class DataTable
{
    public static void Run(string[] args)
    {
        int runs = Array.IndexOf(args, "--runs") is int i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : 5;
        string yaml = Path.Combine(DatasetsDir(), "coco128.yaml");
        var config = DatasetConfig.Load(yaml);
        using var train = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(640));
        using var val = YoloDataset.Open(config, DatasetSplit.Val, DatasetOptions.Validation(640, batchSize: 32));
        Console.WriteLine($"coco128: {train.Summary.Line}; {Environment.ProcessorCount} cores visible, one thread per measurement, best of {runs}");
        Console.WriteLine($"{"stage",-34} {"images/s per core",18} {"ms/image",9}");

        var paths = train.Images.Select(r => r.ImagePath).ToArray();
        Report(ImageDecoder.UseTurboJpeg ? "JPEG decode (TurboJPEG, EXIF)" : "JPEG decode (SkiaSharp, EXIF)", runs, paths.Length, () => { foreach (var p in paths) ImageDecoder.Decode(p).Dispose(); });
        int epoch = 0;
        Report("mosaic training pipeline @640", runs, train.Count, () =>
        {
            epoch++;
            for (int k = 0; k < train.Count; k++) train.GetItem(k, SampleSeed.ForSample(0, epoch, k)).Dispose();
        });
        using var cached = YoloDataset.Open(config, DatasetSplit.Train, DatasetOptions.Training(640) with { CacheImages = true });
        Report("mosaic pipeline, RAM image cache", runs, cached.Count, () =>
        {
            epoch++;
            for (int k = 0; k < cached.Count; k++) cached.GetItem(k, SampleSeed.ForSample(0, epoch, k)).Dispose();
        });
        Report("validation letterbox @640 (rect)", runs, val.Count, () =>
        {
            for (int k = 0; k < val.Count; k++) val.GetItem(k, new Rng(0)).Dispose();
        });
        LoaderReport(train, runs, Environment.ProcessorCount);
    }

    /// The whole loader (worker threads, collation into NHWC batches) for comparison with the
    /// per-core numbers: images/s over all cores.
    static void LoaderReport(YoloDataset ds, int runs, int workers)
    {
        var loader = new DataLoader(ds, new LoaderOptions { BatchSize = 16, Workers = workers, Seed = 0 });
        int epoch = 0;
        void Pass() { foreach (var b in loader.Epoch(epoch++)) b.Dispose(); }
        Pass();
        double best = double.MaxValue;
        for (int r = 0; r < runs; r++)
        {
            var clock = Stopwatch.StartNew();
            Pass();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"{$"DataLoader mosaic, {workers} workers",-34} {ds.Count / best,18:F0} {"(all cores)",9}");
    }

    static void Report(string name, int runs, int images, Action pass)
    {
        pass();   // warm-up: JIT, page cache
        double best = double.MaxValue;
        for (int r = 0; r < runs; r++)
        {
            var clock = Stopwatch.StartNew();
            pass();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"{name,-34} {images / best,18:F0} {best * 1000 / images,9:F2}");
    }

    static string DatasetsDir()
    {
        var env = Environment.GetEnvironmentVariable("YOLOCORE_DATASETS_DIR");
        if (!string.IsNullOrEmpty(env)) return env;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "YoloCore.sln"))) dir = dir.Parent;
        return dir is null ? throw new DirectoryNotFoundException("YoloCore.sln not found; set YOLOCORE_DATASETS_DIR")
            : Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets"));
    }
}
