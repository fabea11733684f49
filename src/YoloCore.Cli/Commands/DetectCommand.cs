using System.CommandLine;
using System.Diagnostics;
using YoloCore.Autograd;
using YoloCore.Cli.Drawing;
using YoloCore.Data;
using YoloCore.Nn.Yolo;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore detect`: YOLOv5's detect.py for images. Each image is letterboxed to the smallest
/// stride multiple (auto, as detect.py), run, NMS'd, its boxes scaled back as scale_boxes does in
/// float32 and rounded to pixels; then written as detect.py writes: the image with boxes and
/// labels (unless --nosave), labels/NAME.txt with --save-txt ("%g" rows: class xc yc w h [conf]),
/// crops/CLASS/NAME.jpg with --save-crop, under runs/detect/expN.
public sealed class DetectCommand
{
    readonly Option<string?> weights = Opt.TextOrNull("weights", "weights: a YOLOv5 .pt or safetensors");
    readonly Option<string?> source = Opt.TextOrNull("source", "an image, a folder, a glob ('imgs/*.jpg') or a .txt list of images");
    readonly Option<string?> data = Opt.TextOrNull("data", "dataset YAML, for the class names when the weights do not have them");
    readonly Option<string?> cfg = Opt.TextOrNull("cfg", "model config, when the weights do not say");
    readonly Option<int> imgsz = Opt.Int("imgsz", "inference size in pixels", 640, "img", "img-size");
    readonly Option<double> conf = Opt.Double("conf-thres", "confidence threshold", 0.25);
    readonly Option<double> iou = Opt.Double("iou-thres", "NMS IoU threshold", 0.45);
    readonly Option<int> maxDet = Opt.Int("max-det", "maximum detections per image", 1000);
    readonly Option<string> device = Opt.Text("device", "cpu, or a GPU: 0, cuda:0", "cpu");
    readonly Option<bool> viewImg = Opt.Flag("view-img", "show results (there is no display here: a note, and the images are saved)");
    readonly Option<bool> saveTxt = Opt.Flag("save-txt", "labels/NAME.txt per image: class xc yc w h, normalised");
    readonly Option<bool> saveConf = Opt.Flag("save-conf", "with --save-txt: the confidence as a sixth column");
    readonly Option<bool> saveCrop = Opt.Flag("save-crop", "crops/CLASS/NAME.jpg of each detection");
    readonly Option<bool> nosave = Opt.Flag("nosave", "do not write the images with boxes");
    readonly Option<int[]> classes = Opt.IntList("classes", "keep only these class indices (before NMS, as detect.py): 0,2");
    readonly Option<bool> agnostic = Opt.Flag("agnostic-nms", "NMS across classes");
    readonly Option<string> project = Opt.Text("project", "folder for runs", Path.Combine("runs", "detect"));
    readonly Option<string> name = Opt.Text("name", "run name", "exp");
    readonly Option<bool> existOk = Opt.Flag("exist-ok", "reuse PROJECT/NAME");
    readonly Option<int> lineThickness = Opt.Int("line-thickness", "box line width in pixels", 3);
    readonly Option<bool> hideLabels = Opt.Flag("hide-labels", "boxes without labels");
    readonly Option<bool> hideConf = Opt.Flag("hide-conf", "labels without confidences");

    public static Command Create()
    {
        var d = new DetectCommand();
        var c = new Command("detect", "detect objects in images as detect.py does: images with boxes and labels, and with --save-txt, " +
            "--save-conf, --save-crop the labels and crops, under runs/detect/expN")
        {
            d.weights, d.source, d.data, d.cfg, d.imgsz, d.conf, d.iou, d.maxDet, d.device, d.viewImg, d.saveTxt, d.saveConf, d.saveCrop,
            d.nosave, d.classes, d.agnostic, d.project, d.name, d.existOk, d.lineThickness, d.hideLabels, d.hideConf,
        };
        c.SetAction(d.Run);
        return c;
    }

    int Run(ParseResult r)
    {
        string weightsPath = r.GetValue(weights) ?? throw new CliUsageException("--weights and --source are required");
        string sourcePath = r.GetValue(source) ?? throw new CliUsageException("--weights and --source are required");
        int img = r.GetValue(imgsz);
        if (img % 32 != 0) { int f = (img + 31) / 32 * 32; Console.WriteLine($"WARNING ⚠️ --img-size {img} must be multiple of max stride 32, updating to {f}"); img = f; }
        var files = Sources(sourcePath);
        // detect.py writes no images for a .txt list of sources.
        bool saveImage = !r.GetValue(nosave) && !sourcePath.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);
        bool txt = r.GetValue(saveTxt), withConf = r.GetValue(saveConf), crop = r.GetValue(saveCrop);
        if (r.GetValue(viewImg)) Console.WriteLine("WARNING ⚠️ --view-img: there is no display here; see the images saved in the run folder instead");
        var keep = r.GetValue(classes) is { Length: > 0 } k ? k.ToHashSet() : null;
        var names = r.GetValue(data) is { } yaml ? DatasetConfig.Load(yaml).Names : null;
        var (model, classNames) = WeightsMetadata.LoadModel(weightsPath, r.GetValue(cfg), names?.Count, names);
        string saveDir = RunDirectory.Create(RunDirectory.Next(r.GetValue(project)!, r.GetValue(name)!, r.GetValue(existOk)), txt ? "labels" : "");
        var outputs = OutputNames(files, w => Console.WriteLine($"WARNING ⚠️ {w}"));
        var dev = Device.Parse(r.GetValue(device)!);
        var dtype = dev.IsCpu ? DType.Float32 : DType.Float16;
        int skipped = 0, lw = r.GetValue(lineThickness);
        bool hideL = r.GetValue(hideLabels), hideC = r.GetValue(hideConf);
        using (model)
        {
            model.To(dev);
            model.Eval();
            Console.WriteLine($"Fusing layers... {model.FuseForInference()} Conv+BatchNorm blocks");
            for (int i = 0; i < files.Count; i++)
            {
                string file = files[i];
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
                    using var boxed = Letterbox.Apply(original, img, img, out _, auto: true);
                    var x = Tensor.FromArray<byte>(boxed.Pixels[..(boxed.Width * boxed.Height * 3)].ToArray(), new Shape(1, boxed.Height, boxed.Width, 3)).To(dev);
                    x = YoloModel.Input(x, dtype);
                    // detect.py walks reversed(det): the lowest score first, in labels, crops and drawing.
                    var dets = Nms.Run(model.Forward(x), r.GetValue(conf), r.GetValue(iou), r.GetValue(maxDet), r.GetValue(agnostic), classes: keep)[0]
                        .Select(d => ScaleBox(d, boxed.Width, boxed.Height, original.Width, original.Height)).Reverse().ToList();
                    var (image, label) = outputs[i];
                    if (txt) WriteLabels(Path.Combine(saveDir, label), dets, original.Width, original.Height, withConf);
                    if (crop) SaveCrops(saveDir, Path.GetFileNameWithoutExtension(label), original, dets, classNames);
                    if (saveImage) Annotate(original, dets, classNames, lw, hideL, hideC, Path.Combine(saveDir, image));
                    var counts = dets.GroupBy(d => d.Class).OrderBy(g => g.Key).Select(g => $"{g.Count()} {Palette.Name(classNames, g.Key)}{(g.Count() > 1 ? "s" : "")}, ");
                    Console.WriteLine($"image {i + 1}/{files.Count} {Path.GetFullPath(file)}: {boxed.Height}x{boxed.Width} {string.Concat(counts)}{(dets.Count == 0 ? "(no detections), " : "")}{clock.Elapsed.TotalMilliseconds:F1}ms");
                }
            }
        }
        if (skipped > 0) Console.WriteLine($"WARNING ⚠️ {skipped} of {files.Count} images skipped as unreadable (each named above)");
        string labels = txt ? $"\n{Directory.GetFiles(Path.Combine(saveDir, "labels"), "*.txt").Length} labels saved to {Path.Combine(saveDir, "labels")}" : "";
        Console.WriteLine($"Results saved to {saveDir}{labels}");
        return 0;
    }

    /// detect.py's LoadImages sources: an image file; a folder (its images, sorted); a glob
    /// (sorted, ** recursive); a .txt list of paths (whitespace separated).
    static List<string> Sources(string source)
    {
        List<string> candidates;
        if (source.Contains('*'))
        {
            string dir = Path.GetDirectoryName(source) is { Length: > 0 } dd ? dd : ".", pattern = Path.GetFileName(source);
            bool recursive = dir.Contains("**");
            if (recursive) dir = dir[..dir.IndexOf("**", StringComparison.Ordinal)].TrimEnd('/', '\\') is { Length: > 0 } top ? top : ".";
            if (!Directory.Exists(dir)) throw new FileNotFoundException($"--source {source}: folder {dir} does not exist");
            candidates = Directory.GetFiles(dir, pattern, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly).ToList();
        }
        else if (Directory.Exists(source)) candidates = Directory.GetFiles(source).ToList();
        else if (File.Exists(source) && source.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            string parent = Path.GetDirectoryName(Path.GetFullPath(source))!;
            candidates = File.ReadAllText(source).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                .Select(p => Path.IsPathRooted(p) ? p : Path.Combine(parent, p)).ToList();
            var missing = candidates.FirstOrDefault(p => !File.Exists(p));
            if (missing is not null) throw new FileNotFoundException($"--source {source} lists {missing}, which does not exist");
        }
        else if (File.Exists(source)) candidates = [source];
        else if (source.Contains("://") || source == "0")
            throw new NotSupportedException($"--source {source}: streams, URLs and webcams are not supported; pass images, a folder, a glob or a .txt list");
        else throw new FileNotFoundException($"--source {source} is neither an image, a folder, a glob nor a .txt list");
        var images = candidates.Where(ImageList.IsImage).OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (images.Count == 0) throw new FileNotFoundException($"no images ({string.Join(", ", ImageList.ImageExtensions.Order())}) in {source}");
        return images;
    }

    /// scale_boxes as detect.py runs it: in float32, the padding of an (auto) letterbox of gain
    /// min(H/h0, W/w0) taken off, divided by the gain, clipped to the image, rounded to pixels.
    static Detection ScaleBox(Detection d, int width, int height, int w0, int h0)
    {
        double gain = Math.Min((double)height / h0, (double)width / w0);
        float padX = (float)((width - w0 * gain) / 2), padY = (float)((height - h0 * gain) / 2), g = (float)gain;
        float X(double v) => MathF.Round(Math.Clamp(((float)v - padX) / g, 0f, w0), MidpointRounding.ToEven);
        float Y(double v) => MathF.Round(Math.Clamp(((float)v - padY) / g, 0f, h0), MidpointRounding.ToEven);
        return d with { X1 = X(d.X1), Y1 = Y(d.Y1), X2 = X(d.X2), Y2 = Y(d.Y2) };
    }

    /// Rows "class xc yc w h [conf]" in %g, normalised in float32, as detect.py writes them.
    static void WriteLabels(string path, List<Detection> dets, int w0, int h0, bool withConf)
    {
        if (dets.Count == 0) return; // detect.py writes no file for an image without detections
        using var f = new StreamWriter(path, append: true);
        foreach (var d in dets)
        {
            float x1 = (float)d.X1, y1 = (float)d.Y1, x2 = (float)d.X2, y2 = (float)d.Y2;
            float[] xywh = [(x1 + x2) / 2 / w0, (y1 + y2) / 2 / h0, (x2 - x1) / w0, (y2 - y1) / h0];
            var fields = new List<string> { d.Class.ToString() };
            fields.AddRange(xywh.Select(v => ResultsCsv.PercentG(v, 6)));
            if (withConf) fields.Add(ResultsCsv.PercentG((float)d.Score, 6));
            f.WriteLine(string.Join(' ', fields));
        }
    }

    /// save_one_box: each box grown by 2 % plus 10 pixels, clipped, cut from the unannotated image,
    /// saved as crops/CLASS/NAME.jpg (then NAME2.jpg, NAME3.jpg, ... as increment_path).
    static void SaveCrops(string saveDir, string stem, RgbImage image, List<Detection> dets, IReadOnlyList<string> names)
    {
        foreach (var d in dets)
        {
            float cx = (float)(d.X1 + d.X2) / 2, cy = (float)(d.Y1 + d.Y2) / 2;
            float w = (float)(d.X2 - d.X1) * 1.02f + 10, h = (float)(d.Y2 - d.Y1) * 1.02f + 10;
            int x1 = Math.Clamp((int)(cx - w / 2), 0, image.Width), y1 = Math.Clamp((int)(cy - h / 2), 0, image.Height);
            int x2 = Math.Clamp((int)(cx + w / 2), 0, image.Width), y2 = Math.Clamp((int)(cy + h / 2), 0, image.Height);
            if (x2 <= x1 || y2 <= y1) continue;
            string dir = Path.Combine(saveDir, "crops", Palette.Name(names, d.Class));
            Directory.CreateDirectory(dir);
            string file = Path.Combine(dir, stem + ".jpg");
            for (int n = 2; File.Exists(file); n++) file = Path.Combine(dir, $"{stem}{n}.jpg");
            using var cut = new RgbImage(x2 - x1, y2 - y1);
            for (int y = y1; y < y2; y++) image.Row(y).Slice(x1 * 3, (x2 - x1) * 3).CopyTo(cut.Row(y - y1));
            ImageEncoder.Save(cut, file, quality: 95);
        }
    }

    /// The image with each box in its class colour and "name conf" (detect.py's Annotator).
    static void Annotate(RgbImage image, List<Detection> dets, IReadOnlyList<string> names, int lineWidth, bool hideLabels, bool hideConf, string path)
    {
        // Text as tall as detect.py's cv2 labels (Hershey font at scale lw / 3).
        using var a = new Annotator(image, lineWidth, fontSize: Math.Max(12, (int)Math.Round(lineWidth * 10.0)));
        foreach (var d in dets)
        {
            string? label = hideLabels ? null : hideConf ? Palette.Name(names, d.Class) : $"{Palette.Name(names, d.Class)} {d.Score:F2}";
            a.BoxLabel((float)d.X1, (float)d.Y1, (float)d.X2, (float)d.Y2, label, Palette.Of(d.Class));
        }
        a.Save(path);
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
            string image = ext is ".jpg" or ".jpeg" or ".png" or ".webp" ? name : Path.GetFileNameWithoutExtension(f) + ".png";
            return (Unique(image, f), Path.Combine("labels", Unique(Path.GetFileNameWithoutExtension(f) + ".txt", f)));
        }).ToList();
    }
}
