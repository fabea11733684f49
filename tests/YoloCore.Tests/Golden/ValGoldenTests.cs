using System.Text.Json;
using YoloCore.Data;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;
using YoloCore.Training;
using YoloCore.Training.Metrics;

namespace YoloCore.Tests.Golden;

/// End to end against upstream val.py (every val_* folder of the golden data): upstream-trained
/// weights, read from the .pt checkpoint and from the PyTorch state dict as safetensors, validated
/// as `yolocore val` does, give upstream's figures and its detections.
public class ValGoldenTests
{
    public static TheoryData<string, string> Cases()
    {
        var dirs = Directory.GetDirectories(GoldenCase.Directory, "val_*").Select(Path.GetFileName).Order().ToList();
        if (dirs.Count == 0) throw new DirectoryNotFoundException($"no val_* folder in {GoldenCase.Directory}");
        var data = new TheoryData<string, string>();
        foreach (var d in dirs)
            foreach (var w in new[] { "weights.pt", "weights.safetensors" }) data.Add(d!, w);
        return data;
    }

    sealed record Run(DetectionMetrics Metrics, Dictionary<string, List<double[]>> Detections);

    static Run Validate(string dir, string weights, JsonElement expected)
    {
        var config = DatasetConfig.Load(Path.Combine(dir, "data.yaml"));
        string? cfg = null;
        if (weights.EndsWith(".safetensors"))
        {
            // A bare state dict does not say its model: take the .pt's, as a user passes --cfg.
            using var pt = WeightsFile.Read(Path.Combine(dir, "weights.pt"));
            cfg = Path.Combine(Path.GetTempPath(), $"yolocore-val-{Guid.NewGuid():N}.yaml");
            File.WriteAllText(cfg, pt.ConfigYaml);
        }
        try
        {
            var (model, _) = WeightsMetadata.LoadModel(Path.Combine(dir, weights), cfg, config.ClassCount, config.Names);
            using (model)
            {
                model.FuseForInference();
                int img = expected.GetProperty("imgsz").GetInt32(), batch = expected.GetProperty("batch_size").GetInt32();
                using var set = YoloDataset.Open(config, DatasetSplit.Val, DatasetOptions.Validation(img, batch));
                var loader = new DataLoader(set, new LoaderOptions { BatchSize = batch, Workers = 2, Shuffle = false });
                var detections = new Dictionary<string, List<double[]>>();
                var r = Validator.Run(model, loader, Device.Cpu, DType.Float32, null, expected.GetProperty("conf_thres").GetDouble(),
                    expected.GetProperty("iou_thres").GetDouble(), expected.GetProperty("max_det").GetInt32(),
                    onImage: p => detections[Path.GetFileNameWithoutExtension(p.Path)] = p.Detections
                        .Select(d => new[] { d.Class, Math.Round(d.X1, 3), Math.Round(d.Y1, 3), Math.Round(d.X2 - d.X1, 3), Math.Round(d.Y2 - d.Y1, 3), Math.Round(d.Score, 5) }).ToList());
                return new Run(r.Metrics, detections);
            }
        }
        finally { if (cfg is not null) File.Delete(cfg); }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ValGivesUpstreamsFiguresAndDetections(string folder, string weights)
    {
        string dir = Path.Combine(GoldenCase.Directory, folder);
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json"))).RootElement;
        var run = Validate(dir, weights, expected);
        var m = run.Metrics;
        var all = expected.GetProperty("all");
        void Near(string what, double want, double got, double tol) =>
            Assert.True(Math.Abs(want - got) <= tol, $"{folder}/{weights}: {what} {got:G6}, upstream {want:G6}");
        Near("P", all.GetProperty("p").GetDouble(), m.MeanPrecision, 5e-4);
        Near("R", all.GetProperty("r").GetDouble(), m.MeanRecall, 5e-4);
        Near("mAP@0.5", all.GetProperty("map50").GetDouble(), m.Map50, 5e-4);
        Near("mAP@0.5:0.95", all.GetProperty("map").GetDouble(), m.Map, 5e-4);
        var pc = expected.GetProperty("per_class");
        var classes = pc.GetProperty("ap_class").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(classes, m.Classes);
        for (int i = 0; i < classes.Length; i++)
        {
            Near($"class {classes[i]} P", pc.GetProperty("p")[i].GetDouble(), m.Precision[i], 1e-3);
            Near($"class {classes[i]} R", pc.GetProperty("r")[i].GetDouble(), m.Recall[i], 1e-3);
            Near($"class {classes[i]} AP@0.5", pc.GetProperty("ap50")[i].GetDouble(), m.Ap50(i), 1e-3);
            Near($"class {classes[i]} AP@0.5:0.95", pc.GetProperty("ap")[i].GetDouble(), m.ApMean(i), 1e-3);
        }

        // Detections: the same boxes, image by image (rows: class, x, y, w, h, score).
        int total = 0, matched = 0;
        var misses = new List<string>();
        foreach (var image in expected.GetProperty("detections").GetProperty("images").EnumerateObject())
        {
            var theirs = image.Value.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
            var ours = run.Detections.GetValueOrDefault(image.Name) ?? [];
            var used = new bool[ours.Count];
            foreach (var t in theirs)
            {
                total++;
                int k = Enumerable.Range(0, ours.Count).FirstOrDefault(i => !used[i] && ours[i][0] == t[0]
                    && Enumerable.Range(1, 5).All(c => Math.Abs(ours[i][c] - t[c]) <= 1e-3 * Math.Max(1, Math.Abs(t[c]))), -1);
                if (k >= 0) { used[k] = true; matched++; }
                else misses.Add($"{image.Name}: [{string.Join(", ", t)}]");
            }
            Assert.True(ours.Count == theirs.Count || misses.Count > 0, $"{folder}/{weights}: {image.Name}: {ours.Count} detections, upstream {theirs.Count}");
        }
        double share = (double)matched / Math.Max(1, total);
        Assert.True(share >= 0.999, $"{folder}/{weights}: {matched} of {total} upstream detections matched ({share:P2}); first misses: {string.Join("; ", misses.Take(5))}");
    }
}
