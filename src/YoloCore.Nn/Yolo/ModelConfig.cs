using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace YoloCore.Nn.Yolo;

/// One row of a model config: [from, number, module, args].
public sealed record LayerSpec(int[] From, int Number, string Module, IReadOnlyList<object?> Args);

/// A YOLOv5 model-config YAML (nc, depth_multiple, width_multiple, anchors in pixels, backbone and
/// head layer lists). The five standard configs ship inside this assembly; Load also takes a path.
public sealed record ModelConfig(string Name, int Nc, double DepthMultiple, double WidthMultiple,
    double[][] Anchors, IReadOnlyList<LayerSpec> Layers)
{
    public static readonly string[] Embedded = ["yolov5n", "yolov5s", "yolov5m", "yolov5l", "yolov5x"];

    /// "yolov5s", "yolov5s.yaml" (embedded) or a path to a user's YAML file.
    public static ModelConfig Load(string nameOrPath)
    {
        string name = Path.GetFileNameWithoutExtension(nameOrPath);
        if (File.Exists(nameOrPath)) return Parse(File.ReadAllText(nameOrPath), name, nameOrPath);
        if (Embedded.Contains(name) && !nameOrPath.Contains(Path.DirectorySeparatorChar))
        {
            using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream($"YoloCore.Nn.Yolo.Configs.{name}.yaml")
                ?? throw new InvalidOperationException($"embedded config {name} is missing from the assembly");
            return Parse(new StreamReader(s).ReadToEnd(), name, $"embedded {name}.yaml");
        }
        throw new FileNotFoundException($"model config '{nameOrPath}' is neither a file nor one of the built-in configs ({string.Join(", ", Embedded)})");
    }

    public static ModelConfig Parse(string yaml, string name, string source = "config")
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new InvalidDataException($"{source}: not valid YAML ({e.Message})"); }
        // YamlDotNet throws this for an unclosed '[' at the end of the file.
        catch (InvalidOperationException) { throw new InvalidDataException($"{source}: malformed YAML (look for an unclosed '[', '{{' or quote)"); }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new InvalidDataException($"{source}: expected a mapping with nc, depth_multiple, width_multiple, anchors, backbone, head");

        YamlNode Field(string key) => root.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v
            : throw new InvalidDataException($"{source}: missing '{key}'");

        int nc = (int)Number(Field("nc"), source, "nc");
        double gd = Number(Field("depth_multiple"), source, "depth_multiple");
        double gw = Number(Field("width_multiple"), source, "width_multiple");
        if (Field("anchors") is not YamlSequenceNode anchorRows)
            throw new InvalidDataException($"{source}: anchors must be a list of per-level [w,h, w,h, ...] pixel lists (a bare anchor count needs AutoAnchor, which YoloCore does not have)");
        var anchors = anchorRows.Select((row, i) => row is YamlSequenceNode s
            ? s.Select(v => Number(v, source, $"anchors[{i}]")).ToArray()
            : throw new InvalidDataException($"{source}: anchors[{i}] is not a list")).ToArray();
        if (anchors.Length == 0 || anchors.Any(a => a.Length == 0 || a.Length % 2 != 0 || a.Length != anchors[0].Length))
            throw new InvalidDataException($"{source}: every anchor level needs the same even number of values (w,h pairs)");

        var layers = new List<LayerSpec>();
        foreach (var part in new[] { "backbone", "head" })
        {
            if (Field(part) is not YamlSequenceNode rows) throw new InvalidDataException($"{source}: {part} must be a list of layers");
            foreach (var row in rows)
            {
                string where = $"{source}: layer {layers.Count}";
                if (row is not YamlSequenceNode r || r.Children.Count != 4)
                    throw new InvalidDataException($"{where}: expected [from, number, module, args]");
                int[] from = r[0] is YamlSequenceNode fs ? fs.Select(f => (int)Number(f, where, "from")).ToArray() : [(int)Number(r[0], where, "from")];
                int number = (int)Number(r[1], where, "number");
                string module = ((YamlScalarNode)r[2]).Value ?? "";
                var args = r[3] is YamlSequenceNode a ? a.Select(Value).ToList() : throw new InvalidDataException($"{where}: args must be a list");
                layers.Add(new LayerSpec(from, number, module, args));
            }
        }
        return new ModelConfig(name, nc, gd, gw, anchors, layers);
    }

    static double Number(YamlNode node, string source, string what) =>
        node is YamlScalarNode s && double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v : throw new InvalidDataException($"{source}: {what} must be a number, got '{node}'");

    /// A YAML argument as YOLOv5's eval would see it: int, double, bool, null, a string (names such
    /// as nc or anchors, resolved by the builder) or a nested list.
    static object? Value(YamlNode node)
    {
        if (node is YamlSequenceNode seq) return seq.Select(Value).ToList();
        var s = ((YamlScalarNode)node).Value ?? "";
        if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i)) return i;
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return d;
        return s switch { "None" or "null" => null, "True" or "true" => true, "False" or "false" => false, _ => s };
    }

    /// The config with another class count (as YOLOv5 overrides nc from the dataset).
    public ModelConfig WithClasses(int nc) => this with { Nc = nc };
}
