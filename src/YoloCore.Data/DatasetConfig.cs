using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace YoloCore.Data;

/// A dataset YAML in YOLOv5's form:
///   path: root folder (relative paths are relative to the YAML file's folder; absent = that folder)
///   train / val / test: a folder of images, a .txt list of image paths, or a list of either,
///                       each relative to `path` unless absolute
///   nc: number of classes; names: list, or map {0: person, 1: bicycle, ...}
/// Either of nc and names may be omitted (nc = len(names); names = class0..), not both.
public sealed class DatasetConfig
{
    public required string YamlPath { get; init; }
    public required string Root { get; init; }
    public required IReadOnlyList<string> Train { get; init; }
    public required IReadOnlyList<string> Val { get; init; }
    public required IReadOnlyList<string> Test { get; init; }
    public required int ClassCount { get; init; }
    public required IReadOnlyList<string> Names { get; init; }

    public static DatasetConfig Load(string yamlPath)
    {
        string full = Path.GetFullPath(yamlPath);
        if (!File.Exists(full)) throw new FileNotFoundException($"dataset YAML not found: {full}", full);
        YamlMappingNode map;
        try
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(full)) stream.Load(reader);
            map = stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode m
                ? m : throw new InvalidDataException($"dataset YAML {full} is not a mapping of keys (path, train, val, nc, names)");
        }
        // YamlDotNet reports some malformed input (an unclosed '[') as InvalidOperationException.
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException)
        {
            throw new InvalidDataException($"dataset YAML {full} cannot be parsed: {YamlError(e)}", e);
        }

        string yamlDir = Path.GetDirectoryName(full)!;
        string? pathValue = Scalar(map, "path");
        string root = string.IsNullOrWhiteSpace(pathValue) ? yamlDir : Path.GetFullPath(Path.Combine(yamlDir, pathValue));

        var (nc, names) = ReadClasses(map, full);
        var train = Sources(map, "train", root);
        var val = Sources(map, "val", root);
        if (train.Count == 0) throw new InvalidDataException($"dataset YAML {full} has no 'train:' entry");
        if (val.Count == 0) throw new InvalidDataException($"dataset YAML {full} has no 'val:' entry");
        return new DatasetConfig
        {
            YamlPath = full, Root = root, Train = train, Val = val, Test = Sources(map, "test", root),
            ClassCount = nc, Names = names,
        };
    }

    /// A YAML parse failure in words: YamlDotNet's own message with its position, or, where it
    /// throws InvalidOperationException (an unclosed '[' at the end of the file), what to look for.
    public static string YamlError(Exception e) =>
        e is InvalidOperationException ? "malformed YAML (look for an unclosed '[', '{' or quote)" : e.Message;

    static (int nc, string[] names) ReadClasses(YamlMappingNode map, string file)
    {
        int? nc = null;
        if (Scalar(map, "nc") is string ncText)
        {
            if (!int.TryParse(ncText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 1)
                throw new InvalidDataException($"dataset YAML {file}: 'nc: {ncText}' must be a positive integer");
            nc = v;
        }
        string[]? names = null;
        if (map.Children.TryGetValue(new YamlScalarNode("names"), out var node))
        {
            names = node switch
            {
                YamlSequenceNode seq => seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? "").ToArray(),
                YamlMappingNode m => NamesFromMap(m, file),
                _ => throw new InvalidDataException($"dataset YAML {file}: 'names' must be a list or a map of index: name"),
            };
        }
        if (nc is null && names is null)
            throw new InvalidDataException($"dataset YAML {file} has neither 'nc:' nor 'names:': the number of classes is unknown");
        if (names is null) names = Enumerable.Range(0, nc!.Value).Select(i => $"class{i}").ToArray();
        if (nc is not null && nc.Value != names.Length)
            throw new InvalidDataException($"dataset YAML {file}: 'nc: {nc}' but 'names' has {names.Length} entries");
        if (names.Length == 0) throw new InvalidDataException($"dataset YAML {file}: 'names' is empty");
        return (names.Length, names);
    }

    static string[] NamesFromMap(YamlMappingNode m, string file)
    {
        var byIndex = new SortedDictionary<int, string>();
        foreach (var (k, v) in m.Children)
        {
            if (k is not YamlScalarNode ks || !int.TryParse(ks.Value, out int i) || i < 0)
                throw new InvalidDataException($"dataset YAML {file}: 'names' keys must be class indices (0: person), got '{k}'");
            byIndex[i] = (v as YamlScalarNode)?.Value ?? "";
        }
        var names = byIndex.Values.ToArray();
        if (byIndex.Count > 0 && byIndex.Keys.Last() != byIndex.Count - 1)
            throw new InvalidDataException($"dataset YAML {file}: 'names' indices must be 0..{byIndex.Count - 1} without gaps");
        return names;
    }

    static string? Scalar(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var n) && n is YamlScalarNode s && !string.IsNullOrEmpty(s.Value) && s.Value != "null" && s.Value != "~"
            ? s.Value : null;

    static List<string> Sources(YamlMappingNode map, string key, string root)
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node)) return [];
        var items = node switch
        {
            YamlScalarNode s when string.IsNullOrEmpty(s.Value) || s.Value is "null" or "~" => [],
            YamlScalarNode s => [s.Value!],
            YamlSequenceNode seq => seq.Children.OfType<YamlScalarNode>().Select(c => c.Value ?? "").Where(v => v.Length > 0).ToList(),
            _ => new List<string>(),
        };
        return items.Select(p => Resolve(root, p)).ToList();
    }

    // YOLOv5's check_dataset: relative to `path`, and a '../' that leads nowhere is retried without it.
    static string Resolve(string root, string p)
    {
        string x = Path.GetFullPath(Path.Combine(root, p));
        if (!Path.Exists(x) && p.StartsWith("../", StringComparison.Ordinal))
        {
            string alt = Path.GetFullPath(Path.Combine(root, p[3..]));
            if (Path.Exists(alt)) return alt;
        }
        return x;
    }
}
