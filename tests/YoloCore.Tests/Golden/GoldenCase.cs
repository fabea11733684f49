using System.Text.Json;
using YoloCore.Nn.IO;

namespace YoloCore.Tests.Golden;

/// One PyTorch YOLOv5 reference case: NAME.json + NAME.safetensors in the golden folder
/// ($YOLOCORE_GOLDEN_DIR, else ../shared/golden beside the repository).
public sealed class GoldenCase : IDisposable
{
    GoldenCase(string name, JsonElement json, Dictionary<string, Tensor> tensors)
    {
        Name = name;
        Json = json;
        Tensors = tensors;
    }

    public string Name { get; }
    public JsonElement Json { get; }
    public Dictionary<string, Tensor> Tensors { get; }

    public string Cfg => Json.GetProperty("cfg").GetString()!;
    public int Nc => Json.GetProperty("nc").GetInt32();
    public int Batch => Json.GetProperty("batch").GetInt32();
    public int Height => Json.GetProperty("height").GetInt32();
    public int Width => Json.GetProperty("width").GetInt32();

    public Tensor this[string key] => Tensors.TryGetValue(key, out var t) ? t : throw new KeyNotFoundException($"golden case {Name} has no tensor '{key}'");

    public static string Directory
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("YOLOCORE_GOLDEN_DIR");
            return !string.IsNullOrEmpty(env) ? env : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "golden"));
        }
    }

    /// The repository root (the folder holding YoloCore.sln) above the test assembly.
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "YoloCore.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find the repository root (YoloCore.sln) above " + AppContext.BaseDirectory);
        }
    }

    /// Names of every case (a .json with a .safetensors beside it).
    public static IEnumerable<string> Discover()
    {
        var dir = Directory;
        if (!System.IO.Directory.Exists(dir)) throw new DirectoryNotFoundException($"golden data not found at {dir}; set YOLOCORE_GOLDEN_DIR");
        var names = System.IO.Directory.GetFiles(dir, "*.json").Select(Path.GetFileNameWithoutExtension)
            .Where(n => File.Exists(Path.Combine(dir, n + ".safetensors"))).Select(n => n!).OrderBy(n => n).ToList();
        if (names.Count == 0) throw new FileNotFoundException($"no golden case (NAME.json + NAME.safetensors) in {dir}");
        return names;
    }

    public static GoldenCase Load(string name)
    {
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, name + ".json"))).RootElement.Clone();
        var (list, _) = Safetensors.Load(Path.Combine(Directory, name + ".safetensors"));
        return new GoldenCase(name, json, list.ToDictionary(e => e.Name, e => e.Tensor));
    }

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
