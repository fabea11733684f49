using YoloCore.Data;
using YoloCore.Nn.Yolo;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore val`: YOLOv5's val.py on a dataset split with trained weights: P, R, mAP@0.5 and
/// mAP@0.5:0.95 overall and per class.
public static class ValCommand
{
    public static int Run(string[] argv)
    {
        var args = new CliArgs(argv);
        string data = args.String("data", ""), weights = args.String("weights", "");
        string? cfg = args.String("cfg", "") is { Length: > 0 } c ? c : null;
        int img = args.Int("img", 640), batch = args.Int("batch-size", 32), workers = args.Int("workers", Math.Min(8, Environment.ProcessorCount));
        double conf = args.Double("conf-thres", 0.001), iou = args.Double("iou-thres", 0.6);
        int maxDet = args.Int("max-det", 300);
        string task = args.String("task", "val");
        var device = Device.Parse(args.String("device", "cpu"));
        bool half = !device.IsCpu && !args.Flag("no-amp");
        bool singleClass = args.Flag("single-cls");
        bool saveTxt = args.Flag("save-txt"), saveConf = args.Flag("save-conf"), saveJson = args.Flag("save-json"), existOk = args.Flag("exist-ok");
        string project = args.String("project", Path.Combine("runs", "val")), name = args.String("name", "exp");
        if (args.Help)
        {
            Console.WriteLine("""
                usage: yolocore val --data DATA.yaml --weights W.safetensors [--cfg yolov5n] [--img 640] [--batch-size 32]
                                    [--task val|test|train] [--conf-thres 0.001] [--iou-thres 0.6] [--max-det 300]
                                    [--device cpu|0] [--workers N] [--no-amp]
                                    [--save-txt] [--save-conf] [--save-json] [--single-cls] [--project runs/val] [--name exp] [--exist-ok]
                  --save-txt: labels/NAME.txt per image (class xc yc w h, + conf with --save-conf);
                  --save-json: WEIGHTS_predictions.json in COCO's results format (for pycocotools).
                  Everything goes to runs/val/expN, with PR_curve.png, F1_curve.png, P_curve.png, R_curve.png and confusion_matrix.png.
                """);
            return 0;
        }
        args.RejectUnknown();
        if (data.Length == 0 || weights.Length == 0) throw new CliUsageException("--data and --weights are required");
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
            var r = Validator.Run(model, loader, device, half ? DType.Float16 : DType.Float32, null, conf, iou, maxDet, reporter.ValidationProgress, writer is null ? null : writer.Add,
                (b, d) => { if (b.Index < 3) reporter.ValidationBatchSample(b.Index, b, d, names, saveDir); });
            reporter.ValidationDone(r, names, perClass: true);
            if (saveJson) Console.WriteLine($"saved COCO results to {writer!.WriteJson(Path.GetFileNameWithoutExtension(weights) + "_predictions.json")}");
            reporter.ValidationPlots(r, names, saveDir);
            Console.WriteLine($"Results saved to {saveDir}");
        }
        return 0;
    }
}
