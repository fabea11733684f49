using System.Text.Json;

namespace YoloCore.Nn.IO;

/// A weights file as users bring it, read into state-dict entries (PyTorch layout, our dtypes,
/// unscoped: Dispose frees them) and what the file says about its model:
/// - our safetensors: the model config (a built-in name or its YAML) and class names in the header;
/// - a PyTorch state dict saved as safetensors (no description: --cfg and --data say it);
/// - a YOLOv5 `.pt` checkpoint: 'ema' or 'model' (see TorchCheckpoint.Model) walked to its state
///   dict, with the model's own yaml, names and nc, so no --cfg is needed.
public sealed class WeightsFile : IDisposable
{
    public required string Path { get; init; }
    public required List<(string Name, Tensor Tensor)> Entries { get; init; }
    /// The model config as YAML text (a .pt's yaml dict is written as JSON, which is YAML), or null.
    public string? ConfigYaml { get; init; }
    /// A built-in config name ("yolov5s") or the file the config came from, or null.
    public string? ConfigName { get; init; }
    public string[]? Names { get; init; }
    public int? ClassCount { get; init; }

    public static bool IsPyTorch(string path) => path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase);

    /// emaFirst: for val and detect (upstream's attempt_load); false for training transfer.
    public static WeightsFile Read(string path, bool emaFirst = true)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"weights not found: {System.IO.Path.GetFullPath(path)}", path);
        return IsPyTorch(path) || IsZip(path) ? FromPyTorch(path, emaFirst) : FromSafetensors(path);
    }

    static bool IsZip(string path)
    {
        using var f = File.OpenRead(path);
        return f.ReadByte() == 'P' && f.ReadByte() == 'K';
    }

    static WeightsFile FromSafetensors(string path)
    {
        var (tensors, meta) = Safetensors.Load(path);
        string? cfg = meta.GetValueOrDefault("cfg"), yaml = meta.GetValueOrDefault("cfg_yaml");
        return new WeightsFile
        {
            Path = path, Entries = tensors,
            ConfigYaml = yaml is { Length: > 0 } ? yaml : null, ConfigName = cfg,
            Names = meta.TryGetValue("names", out var n) ? JsonSerializer.Deserialize<string[]>(n) : null,
            ClassCount = int.TryParse(meta.GetValueOrDefault("nc"), out int k) ? k : null,
        };
    }

    static WeightsFile FromPyTorch(string path, bool emaFirst)
    {
        using var ckpt = TorchCheckpoint.Open(path);
        var model = ckpt.Model(emaFirst);
        var entries = new List<(string, Tensor)>();
        try
        {
            foreach (var (name, t) in TorchCheckpoint.StateDict(model)) entries.Add((name, ckpt.Load(t)));
        }
        catch
        {
            foreach (var (_, t) in entries) t.Dispose();
            throw;
        }
        if (entries.Count == 0) throw new InvalidDataException($"{path}: its model has no parameters");
        var module = model as PickleObject;
        var yaml = TorchCheckpoint.ToJson(module?["yaml"]);
        string? yamlName = yaml?["yaml_file"]?.GetValue<string>();
        return new WeightsFile
        {
            Path = path, Entries = entries,
            // Named after the YAML it came from, as upstream records it, else after the file.
            ConfigYaml = yaml?.ToJsonString(), ConfigName = System.IO.Path.GetFileNameWithoutExtension(yamlName ?? path),
            Names = NamesOf(module?["names"]),
            ClassCount = module?["nc"] is long nc ? (int)nc : yaml?["nc"]?.GetValue<long>() is long ync ? (int)ync : null,
        };
    }

    /// YOLOv5 keeps names as a list, or (newer checkpoints) a dict {index: name}.
    static string[]? NamesOf(object? names) => names switch
    {
        List<object?> l => l.Select(v => v?.ToString() ?? "").ToArray(),
        object?[] t => t.Select(v => v?.ToString() ?? "").ToArray(),
        Dictionary<object, object?> d => d.OrderBy(kv => kv.Key is long i ? i : 0).Select(kv => kv.Value?.ToString() ?? "").ToArray(),
        _ => null,
    };

    /// The entries by name (first of each name).
    public Dictionary<string, Tensor> ByName() => Entries.GroupBy(e => e.Name).ToDictionary(g => g.Key, g => g.First().Tensor);

    public void Dispose()
    {
        foreach (var (_, t) in Entries) t.Dispose();
    }
}
