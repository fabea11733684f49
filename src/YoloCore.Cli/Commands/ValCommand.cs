using System.CommandLine;
using YoloCore.Data;
using YoloCore.Nn.Yolo;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore val`: YOLOv5's val.py on a dataset split with trained weights: P, R, mAP@0.5 and
/// mAP@0.5:0.95 overall and per class.
public sealed class ValCommand
{
    readonly Option<string?> data = Opt.TextOrNull("data", "dataset YAML");
    readonly Option<string?> weights = Opt.TextOrNull("weights", "weights: a YOLOv5 .pt, our safetensors, or a PyTorch state dict as safetensors (then --cfg)");
    readonly Option<string?> cfg = Opt.TextOrNull("cfg", "model config, when the weights do not say (yolov5n/s/m/l/x or a YAML)");
    readonly Option<int> imgsz = Opt.Int("imgsz", "inference size in pixels", 640, "img", "img-size");
    readonly Option<int> batch = Opt.Int("batch-size", "batch size", 32, "batch");
    readonly Option<int> workers = Opt.Int("workers", "dataloader worker threads", Math.Min(8, Environment.ProcessorCount));
    readonly Option<double> conf = Opt.Double("conf-thres", "confidence threshold", 0.001);
    readonly Option<double> iou = Opt.Double("iou-thres", "NMS IoU threshold", 0.6);
    readonly Option<int> maxDet = Opt.Int("max-det", "maximum detections per image", 300);
    readonly Option<string> task = Opt.Text("task", "the split: train, val or test", "val");
    readonly Option<string> device = Opt.Text("device", "cpu, or a GPU: 0, cuda:0", "cpu");
    readonly Option<bool> noAmp = Opt.Flag("no-amp", "float32 on a GPU instead of float16");
    readonly Option<bool> singleCls = Opt.Flag("single-cls", "treat every box as one class");
    readonly Option<bool> saveTxt = Opt.Flag("save-txt", "labels/NAME.txt per image (class xc yc w h)");
    readonly Option<bool> saveConf = Opt.Flag("save-conf", "with --save-txt: the confidence too");
    readonly Option<bool> saveJson = Opt.Flag("save-json", "WEIGHTS_predictions.json in COCO's results format (for pycocotools)");
    readonly Option<string> project = Opt.Text("project", "folder for runs", Path.Combine("runs", "val"));
    readonly Option<string> name = Opt.Text("name", "run name", "exp");
    readonly Option<bool> existOk = Opt.Flag("exist-ok", "reuse PROJECT/NAME");

    public static Command Create()
    {
        var v = new ValCommand();
        var c = new Command("val", "evaluate weights on a dataset as val.py does: P, R, mAP@0.5, mAP@0.5:0.95 per class, with the PR/F1/P/R curves " +
            "and the confusion matrix in runs/val/expN")
        {
            v.data, v.weights, v.cfg, v.imgsz, v.batch, v.workers, v.conf, v.iou, v.maxDet, v.task, v.device, v.noAmp, v.singleCls,
            v.saveTxt, v.saveConf, v.saveJson, v.project, v.name, v.existOk,
        };
        c.SetAction(v.Run);
        return c;
    }

    int Run(ParseResult r)
    {
        string data = r.GetValue(this.data) ?? throw new CliUsageException("--data and --weights are required");
        string weights = r.GetValue(this.weights) ?? throw new CliUsageException("--data and --weights are required");
        string? cfg = r.GetValue(this.cfg);
        int img = r.GetValue(imgsz), batch = r.GetValue(this.batch), workers = r.GetValue(this.workers), maxDet = r.GetValue(this.maxDet);
        double conf = r.GetValue(this.conf), iou = r.GetValue(this.iou);
        string task = r.GetValue(this.task)!;
        var device = Device.Parse(r.GetValue(this.device)!);
        bool half = !device.IsCpu && !r.GetValue(noAmp), singleClass = r.GetValue(singleCls);
        bool saveTxt = r.GetValue(this.saveTxt), saveConf = r.GetValue(this.saveConf), saveJson = r.GetValue(this.saveJson);
        string project = r.GetValue(this.project)!, name = r.GetValue(this.name)!;
        bool existOk = r.GetValue(this.existOk);
        if (img % 32 != 0) { int f = (img + 31) / 32 * 32; Console.WriteLine($"WARNING ⚠️ --img {img} must be multiple of max stride 32, updating to {f}"); img = f; }
        if (batch < 1) throw new CliUsageException("--batch-size must be at least 1");
        var config = DatasetConfig.Load(data);
        var split = task switch { "train" => DatasetSplit.Train, "test" => DatasetSplit.Test, "val" => DatasetSplit.Val, _ => throw new CliUsageException("--task must be train, val or test") };
        IReadOnlyList<string> dataNames = singleClass && config.Names.Count != 1 ? ["item"] : config.Names;
        var (model, names) = WeightsMetadata.LoadModel(weights, cfg, dataNames.Count, dataNames);
        using (model)
        {
            model.To(device);
            Console.WriteLine($"Fusing layers... {model.FuseForInference()} Conv+BatchNorm blocks");
            using var set = YoloDataset.Open(config, split, DatasetOptions.Validation(img, batch) with { SingleClass = singleClass });
            var reporter = new ConsoleReporter();
            Console.WriteLine($"{task}: {set.Summary.Line}");
            foreach (var w in set.Summary.WarningLines()) reporter.Warning($"{task}: {w}");
            if (set.Summary.Labelled == 0) reporter.Warning($"{task}: no labels found in {set.Summary.LabelsFolder}: metrics cannot be computed without labels");
            var loader = new DataLoader(set, new LoaderOptions { BatchSize = batch, Workers = workers, Shuffle = false });
            string saveDir = RunDirectory.Create(RunDirectory.Next(project, name, existOk), "");
            bool isCoco = config.Val.Any(v => v.Replace('\\', '/').EndsWith("coco/val2017.txt", StringComparison.Ordinal));
            var writer = saveTxt || saveJson ? new PredictionWriter(saveDir, saveTxt, saveConf, cocoIds: isCoco) : null;
            var result = Validator.Run(model, loader, device, half ? DType.Float16 : DType.Float32, null, conf, iou, maxDet, reporter.ValidationProgress, writer is null ? null : writer.Add,
                (b, d) => { if (b.Index < 3) reporter.ValidationBatchSample(b.Index, b, d, names, saveDir); });
            reporter.ValidationDone(result, names, perClass: true);
            if (saveJson) Console.WriteLine($"saved COCO results to {writer!.WriteJson(Path.GetFileNameWithoutExtension(weights) + "_predictions.json")}");
            reporter.ValidationPlots(result, names, saveDir);
            Console.WriteLine($"Results saved to {saveDir}");
        }
        return 0;
    }
}
