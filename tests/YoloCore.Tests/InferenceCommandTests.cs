using YoloCore.Cli;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;

namespace YoloCore.Tests;

/// `yolocore detect` and `val` in process: a freshly initialised yolov5n (3 classes) on synthetic
/// images, with a low threshold so that there is something to filter and write.
public class InferenceCommandTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), $"yolocore-infer-{Guid.NewGuid():N}");
    readonly string data, weights;

    public InferenceCommandTests()
    {
        data = Path.Combine(root, "shapes");
        weights = Path.Combine(root, "w.safetensors");
        Assert.Equal(0, Program.Main(["data", "synth", "--out", data, "--train", "1", "--val", "2", "--img", "128"]));
        using var model = new YoloModel(ModelConfig.Load("yolov5n").WithClasses(3));
        StateDictIO.Save(model, weights);
    }

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void ClassesFilterAndNosaveWriteOnlyTheAskedForLabels()
    {
        string[] Detect(string name, params string[] extra) =>
            ["detect", "--weights", weights, "--cfg", "yolov5n", "--data", Path.Combine(data, "data.yaml"), "--source", Path.Combine(data, "images", "val"),
             "--img", "128", "--conf-thres", "0.001", "--save-txt", "--project", root, "--name", name, .. extra];
        static List<int> Classes(string dir) =>
            Directory.GetFiles(Path.Combine(dir, "labels")).SelectMany(File.ReadAllLines).Select(l => int.Parse(l.Split(' ')[0])).ToList();

        Assert.Equal(0, Program.Main(Detect("all")));
        var all = Classes(Path.Combine(root, "all"));
        Assert.True(all.Distinct().Count() > 1, $"expected several classes from an untrained model, got {string.Join(",", all.Distinct())}");
        Assert.Equal(2, Directory.GetFiles(Path.Combine(root, "all"), "*.jpg").Length);

        Assert.Equal(0, Program.Main(Detect("only2", "--classes", "2", "--nosave", "--hide-conf")));
        var only2 = Classes(Path.Combine(root, "only2"));
        Assert.NotEmpty(only2);
        Assert.All(only2, c => Assert.Equal(2, c));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "only2"), "*.jpg"));
        Assert.False(Directory.Exists(Path.Combine(root, "only2", "weights")));

        Assert.Equal(2, Program.Main(Detect("bad", "--classes", "two")));
    }

    [Fact]
    public void DetectReadsEveryImageFormatAndKeepsSameStemOutputsApart()
    {
        string src = Path.Combine(root, "mixed");
        Directory.CreateDirectory(src);
        string jpg = Directory.GetFiles(Path.Combine(data, "images", "val"), "*.jpg").Order().First();
        File.Copy(jpg, Path.Combine(src, "x.jpg"));
        // Other formats from the decoding fixtures (tests/YoloCore.Data.Tests/decode).
        string fixtures = Path.Combine(Golden.GoldenCase.RepoRoot, "tests", "YoloCore.Data.Tests", "decode");
        foreach (var (from, to) in new[] { ("rgb.png", "x.png"), ("lzw.tif", "y.tif"), ("deflate.tiff", "z.tiff"), ("lossy.webp", "w.webp") })
            File.Copy(Path.Combine(fixtures, from), Path.Combine(src, to));
        File.WriteAllText(Path.Combine(src, "broken.jpg"), "not an image");
        File.WriteAllText(Path.Combine(src, "notes.txt"), "not an image either, and not one by name");
        var output = new StringWriter();
        var stdout = Console.Out;
        Console.SetOut(output);
        try
        {
            Assert.Equal(0, Program.Main(["detect", "--weights", weights, "--cfg", "yolov5n", "--data", Path.Combine(data, "data.yaml"), "--source", src, "--img", "128", "--conf-thres", "0.001",
                "--save-txt", "--project", root, "--name", "mixed-out"]));
        }
        finally { Console.SetOut(stdout); }
        string dir = Path.Combine(root, "mixed-out");
        Assert.Equal(["w.webp", "x.jpg", "x.png", "y.png", "z.png"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["w.txt", "x.txt", "x_2.txt", "y.txt", "z.txt"], Directory.GetFiles(Path.Combine(dir, "labels")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        string log = output.ToString();
        Assert.Contains("x.png: x.txt is already another image's output, so this one's is x_2.txt", log);
        Assert.Contains("broken.jpg: skipped, not a readable image", log);
        Assert.Contains("1 of 6 images skipped", log);
    }

    /// detect.py's outputs for upstream-trained weights (Fixtures/detect_golden.py): the same label
    /// rows, character for character, and the same crops, by class folder, name and size.
    [Fact]
    public void DetectSaveTxtConfCropWritesWhatDetectPyWrites()
    {
        var golden = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "detect_golden.json"))).RootElement;
        string caseDir = Path.Combine(Golden.GoldenCase.Directory, "val_synth_n3"), src = Path.Combine(root, "detect-src");
        Directory.CreateDirectory(src);
        foreach (var image in golden.GetProperty("images").EnumerateArray())
            File.Copy(Path.Combine(caseDir, "images", "val", image.GetString()!), Path.Combine(src, image.GetString()!));
        Assert.Equal(0, Program.Main(["detect", "--weights", Path.Combine(caseDir, "weights.pt"), "--source", src, "--img", golden.GetProperty("img").GetInt32().ToString(),
            "--save-txt", "--save-conf", "--save-crop", "--project", root, "--name", "detect-golden"]));
        string dir = Path.Combine(root, "detect-golden");
        var labels = golden.GetProperty("labels").EnumerateObject().ToList();
        Assert.Equal(labels.Select(l => l.Name).Order(), Directory.GetFiles(Path.Combine(dir, "labels")).Select(Path.GetFileName).Order());
        foreach (var l in labels)
        {
            var want = l.Value.EnumerateArray().Select(v => v.GetString()!.Split(' ')).ToList();
            var got = File.ReadAllLines(Path.Combine(dir, "labels", l.Name)).Select(line => line.Split(' ')).ToList();
            Assert.Equal(want.Count, got.Count);
            for (int i = 0; i < want.Count; i++)
            {
                // Class and box as written, character for character; the confidence to float32 noise
                // (PyTorch's convolutions and ours round differently in the 7th digit).
                Assert.Equal(want[i][..5], got[i][..5]);
                Assert.True(Math.Abs(double.Parse(want[i][5], System.Globalization.CultureInfo.InvariantCulture) - double.Parse(got[i][5], System.Globalization.CultureInfo.InvariantCulture)) <= 2e-6,
                    $"{l.Name} row {i}: confidence {got[i][5]}, detect.py {want[i][5]}");
            }
        }
        var crops = golden.GetProperty("crops").EnumerateObject().ToDictionary(c => c.Name, c => (c.Value[0].GetInt32(), c.Value[1].GetInt32()));
        var ours = Directory.GetFiles(Path.Combine(dir, "crops"), "*.jpg", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f).Replace('\\', '/'), f => { var h = YoloCore.Data.ImageDecoder.Identify(f); return (h.Width, h.Height); });
        Assert.Equal(crops.Keys.Order(), ours.Keys.Order());
        foreach (var (name, size) in crops) Assert.True(ours[name] == size, $"{name}: {ours[name]}, detect.py {size}");
        Assert.Equal(5, Directory.GetFiles(dir, "*.jpg").Length); // and the annotated images
    }

    [Fact]
    public void ExportWritesACheckpointAsSafetensorsThatNeedsNoCfg()
    {
        string pt = Path.Combine(root, "w.pt"), st = Path.Combine(root, "w.safetensors.out");
        File.Copy(Path.Combine(Golden.GoldenCase.Directory, "val_synth_n3", "weights.pt"), pt);
        Assert.Equal(0, Program.Main(["export", "--weights", pt, "--output", st]));
        var (model, names) = YoloCore.Training.WeightsMetadata.LoadModel(st, cfg: null, nc: null, names: null);
        using (model) Assert.Equal(["rectangle", "ellipse", "triangle"], names);
        // The exported values are the checkpoint's EMA weights, widened from float16 exactly.
        using var source = YoloCore.Nn.IO.WeightsFile.Read(pt, emaFirst: true);
        using var exported = YoloCore.Nn.IO.WeightsFile.Read(st);
        var written = exported.ByName();
        foreach (var (name, t) in source.Entries.Where(e => e.Tensor.DType.IsFloating()))
            Assert.True(t.ToDoubles().SequenceEqual(written[name].ToDoubles()), $"{name} differs after export");
        Assert.Equal(2, Program.Main(["export", "--weights", pt, "--format", "onnx"]));
    }

    [Fact]
    public void ValSavesLabelsAndCocoResultsForEveryDetection()
    {
        Assert.Equal(0, Program.Main(["val", "--data", Path.Combine(data, "data.yaml"), "--weights", weights, "--cfg", "yolov5n", "--img", "128",
            "--batch-size", "2", "--workers", "1", "--save-txt", "--save-conf", "--save-json", "--project", root, "--name", "val"]));
        string dir = Path.Combine(root, "val");
        foreach (var plot in new[] { "PR_curve.png", "F1_curve.png", "P_curve.png", "R_curve.png", "confusion_matrix.png", "val_batch0_labels.jpg", "val_batch0_pred.jpg" }) Assert.True(File.Exists(Path.Combine(dir, plot)), plot);
        var lines = Directory.GetFiles(Path.Combine(dir, "labels")).OrderBy(f => f)
            .SelectMany(f => File.ReadAllLines(f).Select(l => (Stem: Path.GetFileNameWithoutExtension(f), Fields: l.Split(' ')))).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Equal(6, l.Fields.Length)); // class xc yc w h conf
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "w_predictions.json")));
        var results = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(lines.Count, results.Count);
        var byImage = results.GroupBy(e => e.GetProperty("image_id").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(lines.GroupBy(l => l.Stem).ToDictionary(g => g.Key, g => g.Count()), byImage);
        foreach (var e in results)
        {
            Assert.InRange(e.GetProperty("category_id").GetInt32(), 0, 2);
            var box = e.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(4, box.Length);
            Assert.True(box[0] >= 0 && box[1] >= 0 && box[2] >= 0 && box[3] >= 0 && box[0] + box[2] <= 128.001 && box[1] + box[3] <= 128.001, string.Join(",", box));
            Assert.InRange(e.GetProperty("score").GetDouble(), 0.001, 1);
        }
    }
}
