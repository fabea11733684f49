using System.Text.Json;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// The model description saved in a weights file's safetensors header: the config (a built-in
/// name, or the YAML text of a user's config), the class count and names. val and detect rebuild
/// the model from it; weights from PyTorch lack it, and then --cfg and --data (or --nc) say it.
public static class WeightsMetadata
{
    public static Dictionary<string, string> Create(string cfg, IReadOnlyList<string> names) => new()
    {
        ["cfg"] = ModelConfig.Embedded.Contains(Path.GetFileNameWithoutExtension(cfg)) && !File.Exists(cfg) ? Path.GetFileNameWithoutExtension(cfg) : cfg,
        ["cfg_yaml"] = File.Exists(cfg) ? File.ReadAllText(cfg) : "",
        ["nc"] = names.Count.ToString(),
        ["names"] = JsonSerializer.Serialize(names),
    };

    /// Builds the model a weights file describes (or the one given) and loads the weights into it.
    public static (YoloModel Model, string[] Names) LoadModel(string weights, string? cfg, int? nc, IReadOnlyList<string>? names)
    {
        if (!File.Exists(weights)) throw new FileNotFoundException($"weights not found: {Path.GetFullPath(weights)}", weights);
        var (tensors, meta) = Safetensors.Load(weights);
        try
        {
            string? metaCfg = meta.GetValueOrDefault("cfg");
            ModelConfig config = cfg is not null ? ModelConfig.Load(cfg)
                : meta.GetValueOrDefault("cfg_yaml") is { Length: > 0 } yaml ? ModelConfig.Parse(yaml, metaCfg ?? "custom")
                : metaCfg is not null ? ModelConfig.Load(metaCfg)
                : throw new ArgumentException($"{weights} does not say which model it holds: pass --cfg (yolov5n/s/m/l/x or a YAML)");
            var metaNames = meta.TryGetValue("names", out var n) ? JsonSerializer.Deserialize<string[]>(n) : null;
            int classes = nc ?? names?.Count ?? metaNames?.Length
                ?? (int.TryParse(meta.GetValueOrDefault("nc"), out int k) ? k : throw new ArgumentException($"{weights} does not say how many classes it detects: pass --data or --nc"));
            var finalNames = names?.ToArray() ?? metaNames ?? Enumerable.Range(0, classes).Select(i => i.ToString()).ToArray();
            var model = new YoloModel(config.WithClasses(classes));
            StateDictIO.Load(model, tensors.ToDictionary(e => e.Name, e => e.Tensor));
            return (model, finalNames);
        }
        finally { foreach (var (_, t) in tensors) t.Dispose(); }
    }
}
