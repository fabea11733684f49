using System.CommandLine;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore train`: YOLOv5 training with train.py's flag names. Without --data it generates the
/// synthetic shapes dataset and trains yolov5n on it (the README's main job).
public sealed class TrainCommand
{
    /// The main job's defaults on the synthetic dataset: small enough for a 2-core CPU to reach a
    /// useful mAP within minutes.
    const int SynthEpochs = 30, SynthImage = 256, SynthBatch = 16;

    readonly Option<string?> data = Opt.TextOrNull("data", "dataset YAML (YOLOv5's format); none: the synthetic shapes dataset, generated in the run folder");
    readonly Option<string?> cfg = Opt.TextOrNull("cfg", "model: yolov5n|s|m|l|x or a model YAML; none: the model --weights describes, else yolov5n");
    readonly Option<string?> weights = Opt.TextOrNull("weights", "initial weights, a YOLOv5 .pt or safetensors (matching entries transferred, as train.py)");
    readonly Option<string?> hyp = Opt.TextOrNull("hyp", "hyperparameters YAML (hyp.scratch-low's names; a run's hyp.yaml works)");
    readonly Option<int?> epochs = Opt.IntOrNull("epochs", $"epochs to train (100; {SynthEpochs} on the synthetic dataset)");
    readonly Option<int?> batch = Opt.IntOrNull("batch-size", $"total batch size over all ranks ({SynthBatch})", "batch");
    readonly Option<int?> imgsz = Opt.IntOrNull("imgsz", $"train and val image size in pixels (640; {SynthImage} on the synthetic dataset)", "img", "img-size");
    readonly Option<string> device = Opt.Text("device", "cpu, or a GPU: 0, 1, cuda:0", "cpu");
    readonly Option<int> workers = Opt.Int("workers", "dataloader worker threads", Math.Min(8, Environment.ProcessorCount));
    readonly Option<string> optimizer = Opt.Text("optimizer", "SGD, Adam or AdamW", "SGD");
    readonly Option<bool> cosLr = Opt.Flag("cos-lr", "cosine learning-rate schedule instead of linear");
    readonly Option<string> project = Opt.Text("project", "folder for runs", Path.Combine("runs", "train"));
    readonly Option<string> name = Opt.Text("name", "run name: PROJECT/NAME, NAME2, NAME3, ...", "exp");
    readonly Option<bool> existOk = Opt.Flag("exist-ok", "reuse PROJECT/NAME instead of making NAME2");
    readonly Option<int> seed = Opt.Int("seed", "random seed (weights, augmentations, order)", 0);
    readonly Option<int> patience = Opt.Int("patience", "stop after this many epochs without improvement", 100);
    readonly Option<string?> resume = Opt.MaybeValue("resume", "continue a run: its folder, weights/last.json or last.safetensors (alone: the newest run under --project)");
    readonly Option<bool> noval = Opt.Flag("noval", "validate only after the final epoch");
    readonly Option<bool> noAmp = Opt.Flag("no-amp", "train in float32 on a GPU (no mixed precision)");
    readonly Option<bool> graph = Opt.Flag("graph", "capture the training step once as a CUDA graph and replay it (opt-in until checked on a GPU)");
    readonly Option<string?> cache = Opt.MaybeValue("cache", "keep decoded images in RAM (--cache or --cache ram)");
    readonly Option<int[]> freeze = Opt.IntList("freeze", "layers to freeze: N (the first N) or L1,L2,...");
    readonly Option<bool> singleCls = Opt.Flag("single-cls", "train every box as one class, 'item'");
    readonly Option<bool> syncBn = Opt.Flag("sync-bn", "data parallel: BatchNorm statistics over every rank's images");
    readonly Option<int> ddpTimeout = Opt.Int("ddp-timeout", "data parallel: seconds a rank waits for a peer", 300);
    readonly Option<int> maxSteps = Opt.Int("max-steps", "stop after this many iterations (0: no limit)", 0);
    readonly Option<string?> dumpSteps = Opt.TextOrNull("dump-steps", "write the model after every optimizer step to this folder (for comparisons)");
    readonly Option<int> synthTrain = Opt.Int("synth-train", "synthetic dataset: training images", 400);
    readonly Option<int> synthVal = Opt.Int("synth-val", "synthetic dataset: validation images", 100);

    /// A new command with its own options (a parser per call: tests run the program many times).
    public static Command Create()
    {
        var t = new TrainCommand();
        var c = new Command("train", "train a YOLOv5 detector as train.py does (no --data: the synthetic shapes dataset, yolov5n, CPU). " +
            "Outputs go to runs/train/expN: weights/(last|best).safetensors (+ .json), results.csv and YOLOv5's plots. " +
            "Data parallel: yolocore launch --nproc-per-node N -- train ... (or torchrun).")
        {
            t.data, t.cfg, t.weights, t.hyp, t.epochs, t.batch, t.imgsz, t.device, t.workers, t.optimizer, t.cosLr, t.project, t.name, t.existOk,
            t.seed, t.patience, t.resume, t.noval, t.noAmp, t.graph, t.cache, t.freeze, t.singleCls, t.syncBn, t.ddpTimeout, t.maxSteps, t.dumpSteps,
            t.synthTrain, t.synthVal,
        };
        c.SetAction(t.Run);
        return c;
    }

    int Run(ParseResult r)
    {
        string? dataYaml = r.GetValue(data);
        string? cacheKind = r.GetValue(cache);
        bool cacheImages = cacheKind switch
        {
            null => r.Given(cache),
            "ram" => true,
            _ => throw new CliUsageException($"--cache {cacheKind}: only RAM caching is supported (--cache or --cache ram)"),
        };
        var options = new TrainOptions
        {
            Data = dataYaml,
            Cfg = r.GetValue(cfg),
            Weights = r.GetValue(weights),
            Hyp = r.GetValue(hyp),
            Epochs = r.GetValue(epochs) ?? (dataYaml is null ? SynthEpochs : 100),
            BatchSize = r.GetValue(batch) ?? SynthBatch,
            ImageSize = r.GetValue(imgsz) ?? (dataYaml is null ? SynthImage : 640),
            Device = r.GetValue(device)!,
            Workers = r.GetValue(workers),
            Optimizer = Enum.TryParse<OptimizerKind>(r.GetValue(optimizer), ignoreCase: true, out var o) ? o
                : throw new CliUsageException($"--optimizer {r.GetValue(optimizer)}: use SGD, Adam or AdamW"),
            CosLr = r.GetValue(cosLr),
            Project = r.GetValue(project)!,
            Name = r.GetValue(name)!,
            ExistOk = r.GetValue(existOk),
            Seed = r.GetValue(seed),
            Patience = r.GetValue(patience),
            NoAmp = r.GetValue(noAmp),
            Graph = r.GetValue(graph),
            NoVal = r.GetValue(noval),
            CacheImages = cacheImages,
            SingleClass = r.GetValue(singleCls),
            Freeze = r.GetValue(freeze)!,
            SyncBn = r.GetValue(syncBn),
            DdpTimeout = r.GetValue(ddpTimeout),
            MaxSteps = r.GetValue(maxSteps),
            DumpSteps = r.GetValue(dumpSteps),
            SynthTrain = r.GetValue(synthTrain),
            SynthVal = r.GetValue(synthVal),
        };
        string? resumeFrom = null;
        if (r.Given(resume))
            resumeFrom = r.GetValue(resume) ?? LatestRun(options.Project) ?? throw new CliUsageException($"--resume: no run with weights/last.json under {options.Project}");
        // The first Ctrl+C finishes the current epoch and saves it (resumable); a second one kills.
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cancel.IsCancellationRequested) return;
            e.Cancel = true;
            cancel.Cancel();
            Console.Error.WriteLine("\nstopping after this epoch (Ctrl+C again to abort)...");
        };
        Console.CancelKeyPress += onCancel;
        try { new Trainer(new ConsoleReporter()).Run(options, resumeFrom, cancel.Token); }
        finally { Console.CancelKeyPress -= onCancel; }
        // Stopped by Ctrl+C after a clean save: 130, as a shell reports SIGINT.
        return cancel.IsCancellationRequested ? 130 : 0;
    }

    static string? LatestRun(string project) =>
        Directory.Exists(project)
            ? Directory.GetFiles(project, "last.json", SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
}
