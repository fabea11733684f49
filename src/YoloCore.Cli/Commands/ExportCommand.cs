using System.CommandLine;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore export`: a weights file in another format. Today: a YOLOv5 `.pt` (or any weights
/// file we read) to safetensors with YOLOv5's state-dict names, float32, PyTorch layout, and the
/// model config and class names in its header, so val, detect and PyTorch load it as it is.
public sealed class ExportCommand
{
    readonly Option<string?> weights = Opt.TextOrNull("weights", "a YOLOv5 .pt (or any weights file yolocore reads)");
    readonly Option<string> format = Opt.Text("format", "what to write: safetensors", "safetensors", "include");
    readonly Option<string?> output = Opt.TextOrNull("output", "the file to write (default: beside the input, .safetensors)");

    public static Command Create()
    {
        var e = new ExportCommand();
        var c = new Command("export", "convert weights: a YOLOv5 .pt to safetensors with YOLOv5's names, float32, PyTorch layouts, and the model config " +
            "and class names in the header (the checkpoint's EMA model, else its model, as upstream's attempt_load)") { e.weights, e.format, e.output };
        c.SetAction(e.Run);
        return c;
    }

    int Run(ParseResult r)
    {
        string weights = r.GetValue(this.weights) ?? "";
        string format = r.GetValue(this.format)!.ToLowerInvariant();
        string output = r.GetValue(this.output) ?? "";
        if (weights.Length == 0) throw new CliUsageException("--weights is required");
        if (format != "safetensors")
            throw new CliUsageException($"--format {format}: only safetensors is written (export.py's ONNX, TorchScript and others are not part of yolocore)");
        if (output.Length == 0) output = Path.ChangeExtension(weights, ".safetensors");
        if (Path.GetFullPath(output) == Path.GetFullPath(weights)) throw new CliUsageException($"--output {output} would overwrite the input");
        using var file = WeightsFile.Read(weights, emaFirst: true);
        var config = WeightsMetadata.ConfigOf(file)
            ?? throw new InvalidDataException($"{weights} does not say which model it holds: there is nothing to rebuild it from");
        int nc = file.ClassCount ?? file.Names?.Length ?? config.Nc;
        var names = file.Names is { } n && n.Length == nc ? n : Enumerable.Range(0, nc).Select(i => i.ToString()).ToArray();
        // Through the model, so a file that does not fit its own config fails here, not in val.
        using var model = new YoloModel(config.WithClasses(nc));
        StateDictIO.Load(model, file.ByName());
        var meta = WeightsMetadata.Create(config.Name, file.ConfigYaml, names);
        meta["format"] = "pt";
        meta["producer"] = "yolocore export";
        StateDictIO.Save(model, output, meta);
        Console.WriteLine($"{weights} → {output}: {config.Name}, {model.ParameterCount():N0} parameters, {nc} classes ({string.Join(", ", names.Take(5))}{(names.Length > 5 ? ", …" : "")})");
        return 0;
    }
}
