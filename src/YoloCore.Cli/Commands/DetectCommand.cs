using System.Diagnostics;
using System.Globalization;
using YoloCore.Autograd;
using YoloCore.Cli.Drawing;
using YoloCore.Data;
using YoloCore.Nn.Yolo;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore detect`: YOLOv5's detect.py for images: letterbox, forward, NMS, boxes back to the
/// original pixels; writes each image with its boxes and labels drawn and a labels/NAME.txt of
/// "class xc yc w h conf" (normalised) under runs/detect/expN.
public static class DetectCommand
{
    public static int Run(string[] argv)
    {
        var args = new CliArgs(argv);
        string weights = args.String("weights", ""), source = args.String("source", "");
        string? cfg = args.String("cfg", "") is { Length: > 0 } c ? c : null;
        string? data = args.String("data", "") is { Length: > 0 } d ? d : null;
        int img = args.Int("img", 640), maxDet = args.Int("max-det", 1000);
        double conf = args.Double("conf-thres", 0.25), iou = args.Double("iou-thres", 0.45);
        var device = Device.Parse(args.String("device", "cpu"));
        string project = args.String("project", Path.Combine("runs", "detect")), name = args.String("name", "exp");
        bool existOk = args.Flag("exist-ok"), agnostic = args.Flag("agnostic-nms"), noSave = args.Flag("nosave");
        var style = new LabelStyle(args.Flag("hide-labels"), args.Flag("hide-conf"), args.Int("line-thickness", 0));
        int[] classList = args.IntList("classes");
        if (args.Help)
        {
            Console.WriteLine("""
                usage: yolocore detect --weights W.safetensors --source IMAGE|FOLDER [--img 640] [--conf-thres 0.25]
                                       [--iou-thres 0.45] [--max-det 1000] [--device cpu|0] [--cfg yolov5n] [--data DATA.yaml]
                                       [--classes 0,2] [--agnostic-nms] [--hide-labels] [--hide-conf] [--line-thickness N]
                                       [--nosave] [--project runs/detect] [--name exp] [--exist-ok]
                  --classes keeps only those class indices (before NMS, as detect.py); --nosave writes only labels/*.txt.
                """);
            return 0;
        }
        args.RejectUnknown();
        var classes = classList.Length > 0 ? classList.ToHashSet() : null;
        if (weights.Length == 0 || source.Length == 0) throw new CliUsageException("--weights and --source are required");
        if (img % 32 != 0) { int f = (img + 31) / 32 * 32; Console.WriteLine($"WARNING ⚠️ --img {img} must be multiple of max stride 32, updating to {f}"); img = f; }
        var files = Directory.Exists(source)
            ? Directory.GetFiles(source).Where(ImageList.IsImage).OrderBy(f => f, StringComparer.Ordinal).ToList()
            : File.Exists(source) ? [source] : throw new FileNotFoundException($"--source {source} is neither an image nor a folder");
        if (files.Count == 0) throw new FileNotFoundException($"no images ({string.Join(", ", ImageList.ImageExtensions.Order())}) in {source}");
        var outputs = OutputNames(files, w => Console.WriteLine($"WARNING ⚠️ {w}"));
        int skipped = 0;
        var names = data is not null ? DatasetConfig.Load(data).Names : null;
        var (model, classNames) = WeightsMetadata.LoadModel(weights, cfg, names?.Count, names);
        string saveDir = RunDirectory.Create(RunDirectory.Next(project, name, existOk), "labels");
        using (model)
        {
            model.To(device);
            model.Eval();
            Console.WriteLine($"Fusing layers... {model.FuseForInference()} Conv+BatchNorm blocks");
            var dtype = device.IsCpu ? DType.Float32 : DType.Float16;
            foreach (var file in files)
            {
                var clock = Stopwatch.StartNew();
                RgbImage original;
                try { original = ImageDecoder.Decode(file); }
                catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
                {
                    Console.WriteLine($"WARNING ⚠️ {file}: skipped, not a readable image ({e.Message})");
                    skipped++;
                    continue;
                }
                using (original)
                using (TensorScope.Begin())
                using (GradMode.NoGrad())
                {
                    using var boxed = Letterbox.Apply(original, img, img, out var lb);
                    var x = Tensor.FromArray<byte>(boxed.Pixels, new Shape(1, img, img, 3)).To(device).Cast(dtype) * (1.0 / 255);
                    var pred = model.Forward(x);
                    var dets = Nms.Run(pred, conf, iou, maxDet, agnostic, classes: classes)[0]
                        .Select(det => { var (x1, y1, x2, y2) = lb.BoxToOriginal(det.X1, det.Y1, det.X2, det.Y2); return det with { X1 = x1, Y1 = y1, X2 = x2, Y2 = y2 }; }).ToList();
                    Save(saveDir, outputs[files.IndexOf(file)], original, !noSave, dets, classNames, style);
                    var counts = dets.GroupBy(det => det.Class).Select(g => $"{g.Count()} {Palette.Name(classNames, g.Key)}{(g.Count() > 1 ? "s" : "")}");
                    Console.WriteLine($"image {files.IndexOf(file) + 1}/{files.Count} {file}: {img}x{img} {(dets.Count == 0 ? "(no detections)" : string.Join(", ", counts))}, {clock.Elapsed.TotalMilliseconds:F1}ms");
                }
            }
        }
        if (skipped > 0) Console.WriteLine($"WARNING ⚠️ {skipped} of {files.Count} images skipped as unreadable (each named above)");
        Console.WriteLine($"Results saved to {saveDir}");
        return 0;
    }

    /// Each source's output image and label names, distinct even when sources share a stem (x.jpg
    /// and x.png): the image keeps its source's file name as detect.py does (formats we do not
    /// write get .png), labels take the stem; a name already taken gets _2, _3, ... and a warning.
    internal static List<(string Image, string Label)> OutputNames(IReadOnlyList<string> files, Action<string> warn)
    {
        var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string Unique(string name, string file)
        {
            string stem = Path.GetFileNameWithoutExtension(name), ext = Path.GetExtension(name), candidate = name;
            for (int n = 2; !taken.Add(candidate); n++) candidate = $"{stem}_{n}{ext}";
            if (candidate != name) warn($"{file}: {name} is already another image's output, so this one's is {candidate}");
            return candidate;
        }
        return files.Select(f =>
        {
            string name = Path.GetFileName(f), ext = Path.GetExtension(f).ToLowerInvariant();
            string image = ext is ".jpg" or ".jpeg" or ".png" ? name : Path.GetFileNameWithoutExtension(f) + ".png";
            return (Unique(image, f), Path.Combine("labels", Unique(Path.GetFileNameWithoutExtension(f) + ".txt", f)));
        }).ToList();
    }

    /// detect.py's --hide-labels, --hide-conf and --line-thickness (0: from the image size).
    readonly record struct LabelStyle(bool HideLabels, bool HideConf, int LineThickness);


    /// Writes the label file and, when saveImage (not --nosave), the image with the boxes drawn.
    static void Save(string saveDir, (string Image, string Label) output, RgbImage image, bool saveImage, List<Detection> dets, IReadOnlyList<string> names, LabelStyle style)
    {
        if (saveImage)
        {
            var canvas = Canvas.FromRgb(image.Pixels.ToArray(), image.Width, image.Height);
            int thickness = style.LineThickness > 0 ? style.LineThickness : Math.Max(2, (image.Width + image.Height) / 600);
            int scale = Math.Max(1, (image.Width + image.Height) / 800);
            foreach (var d in dets)
            {
                var colour = Palette.Of(d.Class);
                canvas.DrawRect((int)d.X1, (int)d.Y1, (int)d.X2, (int)d.Y2, colour, thickness);
                if (style.HideLabels) continue;
                string label = style.HideConf ? Palette.Name(names, d.Class) : $"{Palette.Name(names, d.Class)} {d.Score:F2}";
                int th = (BitmapFont.Height + 3) * scale, tw = BitmapFont.MeasureWidth(label, scale) + 2 * scale;
                int ty = d.Y1 - th >= 0 ? (int)d.Y1 - th : (int)d.Y1;
                canvas.FillRect((int)d.X1, ty, (int)d.X1 + tw, ty + th, colour);
                canvas.DrawText((int)d.X1 + scale, ty + 2 * scale, label, (255, 255, 255), scale);
            }
            canvas.Save(Path.Combine(saveDir, output.Image));
        }
        var lines = dets.Select(d =>
        {
            double cx = (d.X1 + d.X2) / 2 / image.Width, cy = (d.Y1 + d.Y2) / 2 / image.Height;
            double w = (d.X2 - d.X1) / image.Width, h = (d.Y2 - d.Y1) / image.Height;
            return string.Create(CultureInfo.InvariantCulture, $"{d.Class} {cx:F6} {cy:F6} {w:F6} {h:F6} {d.Score:F6}");
        });
        File.WriteAllLines(Path.Combine(saveDir, output.Label), lines);
    }
}
