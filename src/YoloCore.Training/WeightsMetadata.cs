using System.Text.Json;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// The model description saved in a weights file's safetensors header: the config (a built-in
/// name, or the YAML text of a user's config), the class count and names. val and detect rebuild
/// the model from it; weights from PyTorch lack it, and then --cfg and --data (or --nc) say it.
public static class WeightsMetadata
{
    /// cfg: a built-in name or a YAML file's path (its text goes into the header).
    public static Dictionary<string, string> Create(string cfg, IReadOnlyList<string> names) =>
        ModelConfig.Embedded.Contains(Path.GetFileNameWithoutExtension(cfg)) && !File.Exists(cfg)
            ? Create(Path.GetFileNameWithoutExtension(cfg), null, names)
            : Create(cfg, File.Exists(cfg) ? File.ReadAllText(cfg) : null, names);

    /// name: what the config is called; yaml: its text, or null for a built-in.
    public static Dictionary<string, string> Create(string name, string? yaml, IReadOnlyList<string> names) => new()
    {
        ["cfg"] = name,
        ["cfg_yaml"] = yaml ?? "",
        ["nc"] = names.Count.ToString(),
        ["names"] = JsonSerializer.Serialize(names),
    };

    /// The model config a weights file describes: its YAML, else its built-in name; null when the
    /// file does not say (a bare PyTorch state dict).
    public static ModelConfig? ConfigOf(WeightsFile file) =>
        file.ConfigYaml is { } yaml ? ModelConfig.Parse(yaml, file.ConfigName ?? "custom", $"the model config inside {file.Path}")
        : file.ConfigName is { } name ? ModelConfig.Load(name)
        : null;

    /// Builds the model a weights file describes (or the one given) and loads the weights into it:
    /// our safetensors, a PyTorch state dict as safetensors, or a YOLOv5 .pt ('ema' first, as
    /// upstream's attempt_load).
    public static (YoloModel Model, string[] Names) LoadModel(string weights, string? cfg, int? nc, IReadOnlyList<string>? names)
    {
        using var file = WeightsFile.Read(weights, emaFirst: true);
        ModelConfig config = cfg is not null ? ModelConfig.Load(cfg)
            : ConfigOf(file) ?? throw new ArgumentException($"{weights} does not say which model it holds: pass --cfg (yolov5n/s/m/l/x or a YAML)");
        int classes = nc ?? names?.Count ?? file.Names?.Length ?? file.ClassCount
            ?? throw new ArgumentException($"{weights} does not say how many classes it detects: pass --data or --nc");
        var finalNames = names?.ToArray() ?? (file.Names?.Length == classes ? file.Names : null) ?? Enumerable.Range(0, classes).Select(i => i.ToString()).ToArray();
        var model = new YoloModel(config.WithClasses(classes));
        try { StateDictIO.Load(model, file.ByName()); }
        catch (InvalidDataException e)
        {
            model.Dispose();
            throw new InvalidDataException($"{weights}: {e.Message}", e);
        }
        return (model, finalNames);
    }
}
