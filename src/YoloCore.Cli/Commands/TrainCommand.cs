using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore train`: YOLOv5 training with YOLOv5's flag names. Without --data it generates the
/// synthetic shapes dataset and trains yolov5n on it (the README's main job).
public static class TrainCommand
{
    /// The main job's defaults on the synthetic dataset: small enough for a 2-core CPU to reach a
    /// useful mAP within minutes.
    const int SynthEpochs = 30, SynthImage = 256, SynthBatch = 16;

    public static int Run(string[] argv)
    {
        var args = new CliArgs(argv);
        string? data = args.String("data", "") is { Length: > 0 } d ? d : null;
        var (resume, resumePath) = args.Optional("resume");
        var (cache, cacheKind) = args.Optional("cache");
        bool cacheImages = cacheKind switch
        {
            null => cache,
            "ram" => true,
            _ => throw new CliUsageException($"--cache {cacheKind}: only RAM caching is supported (--cache or --cache ram)"),
        };
        string imgText = args.String("img", args.String("img-size", ""));
        var options = new TrainOptions
        {
            Data = data,
            Cfg = args.String("cfg", "") is { Length: > 0 } cfg ? cfg : null,
            Weights = args.String("weights", "") is { Length: > 0 } w ? w : null,
            Hyp = args.String("hyp", "") is { Length: > 0 } h ? h : null,
            Epochs = args.Int("epochs", data is null ? SynthEpochs : 100),
            BatchSize = args.Int("batch-size", data is null ? SynthBatch : 16),
            ImageSize = imgText.Length > 0 ? ParseInt(imgText, "img") : data is null ? SynthImage : 640,
            Device = args.String("device", "cpu"),
            Workers = args.Int("workers", Math.Min(8, Environment.ProcessorCount)),
            Optimizer = Enum.TryParse<OptimizerKind>(args.String("optimizer", "SGD"), ignoreCase: true, out var o) ? o
                : throw new CliUsageException("--optimizer must be SGD, Adam or AdamW"),
            CosLr = args.Flag("cos-lr"),
            Project = args.String("project", Path.Combine("runs", "train")),
            Name = args.String("name", "exp"),
            ExistOk = args.Flag("exist-ok"),
            Seed = args.Int("seed", 0),
            Patience = args.Int("patience", 100),
            NoAmp = args.Flag("no-amp"),
            NoVal = args.Flag("noval"),
            CacheImages = cacheImages,
            SingleClass = args.Flag("single-cls"),
            Freeze = args.IntList("freeze"),
            SyncBn = args.Flag("sync-bn"),
            DdpTimeout = args.Int("ddp-timeout", 300),
            MaxSteps = args.Int("max-steps", 0),
            DumpSteps = args.String("dump-steps", "") is { Length: > 0 } ds ? ds : null,
            SynthTrain = args.Int("synth-train", 400),
            SynthVal = args.Int("synth-val", 100),
        };
        if (args.Help)
        {
            Console.WriteLine($"""
                usage: yolocore train [--data DATA.yaml] [--cfg yolov5n|s|m|l|x|FILE.yaml] [--weights W.pt|W.safetensors]
                                      [--epochs N] [--batch-size N] [--img PX] [--device cpu|0|cuda:N] [--workers N]
                                      [--optimizer SGD|Adam|AdamW] [--cos-lr] [--hyp HYP.yaml] [--patience N] [--seed N]
                                      [--project runs/train] [--name exp] [--exist-ok] [--resume [RUN_DIR|last.json|last.safetensors]]
                                      [--noval] [--no-amp] [--cache [ram]] [--freeze N|L1,L2,...] [--single-cls] [--synth-train 400] [--synth-val 100]
                                      [--sync-bn] [--ddp-timeout 300] [--max-steps N] [--dump-steps DIR]
                  Trains as YOLOv5 v7.0 does (hyp.scratch-low defaults, SGD nesterov, warmup, EMA, mAP each epoch).
                  --weights: a YOLOv5 .pt or safetensors to start from (matching entries transferred); without --cfg
                  the model is the one the weights describe, else yolov5n.
                  Without --data: generates the synthetic shapes dataset in the run folder and trains on it
                  ({SynthEpochs} epochs, batch {SynthBatch}, {SynthImage} px unless given). Outputs go to runs/train/expN:
                  weights/(last|best).safetensors (+ .json, + last.state.safetensors for --resume), results.csv, results.png.
                  Data parallel: start it with `yolocore launch --nproc-per-node N -- train ...` (or torchrun);
                  --batch-size is the total, --sync-bn shares BatchNorm statistics, --ddp-timeout bounds every wait.
                """);
            return 0;
        }
        args.RejectUnknown();
        string? resumeFrom = null;
        if (resume)
        {
            resumeFrom = resumePath ?? LatestRun(options.Project) ?? throw new CliUsageException($"--resume: no run with weights/last.json under {options.Project}");
        }
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

    static int ParseInt(string text, string name) =>
        int.TryParse(text, out int v) ? v : throw new CliUsageException($"--{name} needs an integer, got '{text}'");

    static string? LatestRun(string project) =>
        Directory.Exists(project)
            ? Directory.GetFiles(project, "last.json", SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
}
