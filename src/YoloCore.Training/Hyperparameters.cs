using System.Globalization;
using YamlDotNet.RepresentationModel;
using YoloCore.Data;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// YOLOv5's training hyperparameters by their YAML names, starting from hyp.scratch-low.yaml (the
/// v7.0 default). --hyp FILE overrides any of them.
public sealed class Hyperparameters
{
    public static readonly IReadOnlyDictionary<string, double> ScratchLow = new Dictionary<string, double>
    {
        ["lr0"] = 0.01, ["lrf"] = 0.01, ["momentum"] = 0.937, ["weight_decay"] = 0.0005, ["warmup_epochs"] = 3.0,
        ["warmup_momentum"] = 0.8, ["warmup_bias_lr"] = 0.1, ["box"] = 0.05, ["cls"] = 0.5, ["cls_pw"] = 1.0, ["obj"] = 1.0,
        ["obj_pw"] = 1.0, ["iou_t"] = 0.2, ["anchor_t"] = 4.0, ["fl_gamma"] = 0.0, ["hsv_h"] = 0.015, ["hsv_s"] = 0.7,
        ["hsv_v"] = 0.4, ["degrees"] = 0.0, ["translate"] = 0.1, ["scale"] = 0.5, ["shear"] = 0.0, ["perspective"] = 0.0,
        ["flipud"] = 0.0, ["fliplr"] = 0.5, ["mosaic"] = 1.0, ["mixup"] = 0.0, ["copy_paste"] = 0.0,
    };

    public Hyperparameters(IReadOnlyDictionary<string, double>? overrides = null)
    {
        Values = new Dictionary<string, double>(ScratchLow);
        foreach (var (k, v) in overrides ?? new Dictionary<string, double>()) Values[k] = v;
    }

    public Dictionary<string, double> Values { get; }
    public double this[string name] => Values.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"hyperparameter '{name}' is not set");

    public static Hyperparameters Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"hyperparameter file not found: {path}", path);
        var yaml = new YamlStream();
        // YamlDotNet reports some malformed input (an unclosed '[') as InvalidOperationException.
        try { yaml.Load(new StringReader(File.ReadAllText(path))); }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException)
        { throw new InvalidDataException($"hyperparameter file {path} cannot be parsed: {Data.DatasetConfig.YamlError(e)}", e); }
        var map = yaml.Documents.Count > 0 ? yaml.Documents[0].RootNode as YamlMappingNode : null;
        if (map is null) throw new InvalidDataException($"{path}: expected a mapping of hyperparameter: value");
        var values = new Dictionary<string, double>();
        foreach (var (k, v) in map.Children)
        {
            string key = (k as YamlScalarNode)?.Value ?? throw new InvalidDataException($"{path}: a key is not a name ({k})");
            if (v is not YamlScalarNode scalar || !double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                throw new InvalidDataException($"{path}: {key} must be a number, got {v}");
            if (!ScratchLow.ContainsKey(key)) throw new InvalidDataException($"{path}: unknown hyperparameter '{key}'");
            values[key] = d;
        }
        return new Hyperparameters(values);
    }

    /// Writes hyp.yaml as YOLOv5 does ("name: value" lines), so `--hyp` can reuse a run's values.
    public void Save(string path) =>
        File.WriteAllLines(path, Values.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}: {kv.Value:R}")));

    public AugmentHyp Augment => new()
    {
        HsvH = this["hsv_h"], HsvS = this["hsv_s"], HsvV = this["hsv_v"], Degrees = this["degrees"], Translate = this["translate"],
        Scale = this["scale"], Shear = this["shear"], Perspective = this["perspective"], FlipUd = this["flipud"], FlipLr = this["fliplr"],
        Mosaic = this["mosaic"], Mixup = this["mixup"],
    };

    /// The loss gains scaled for the model's levels, class count and image size, as train.py does.
    public LossHyperparameters Loss(int nl, int nc, int imageSize) => LossHyperparameters.FromYoloV5(Values).ForTraining(nl, nc, imageSize);
}
