using System.Text.Json;
using System.Text.Json.Nodes;
using YoloCore.Nn;
using YoloCore.Nn.IO;

namespace YoloCore.Training;

/// A training checkpoint (weights/NAME.*), written and checked as one unit by CheckpointFiles:
///   NAME.safetensors        the EMA model's weights under YOLOv5's state-dict names, in PyTorch
///                           layout: what val, detect and PyTorch load;
///   NAME.state.safetensors  (last only) what resuming needs besides: the raw model ("model.…"),
///                           the optimizer's buffers ("optimizer.<param index>.<buffer>") and the
///                           gradients of an accumulation window still open ("grad.<param index>");
///   NAME.json               the manifest: epoch, fitness, EMA updates, optimizer steps and group
///                           settings, loss-scaler state, the options, and each file's SHA-256.
public static class Checkpoint
{
    public sealed record State(int Epoch, double BestFitness, int EmaUpdates, int OptimizerSteps, int LastOptStep,
        double Scale, int CleanSteps, int Skipped, JsonObject Options);

    /// A resumable checkpoint, checked whole. Repair: what opening it had to finish or drop.
    public sealed record Resumable(string WeightsDir, string ManifestPath, State State, string? Repair)
    {
        /// The run folder that holds weights/.
        public string RunDir => Path.GetDirectoryName(Path.GetFullPath(WeightsDir))!;
    }

    /// metadata goes into the weights file's header (cfg, nc, names), so val and detect can rebuild
    /// the model from the file alone. full: also the state a resume needs (last, not best).
    public static void Save(string weightsDir, string name, Module model, Module ema, IOptimizer optimizer, State state, bool full,
        IReadOnlyDictionary<string, string> metadata)
    {
        string epoch = state.Epoch.ToString();
        var meta = new Dictionary<string, string>(metadata) { ["format"] = "pt", ["producer"] = "yolocore", ["epoch"] = epoch };
        var files = new List<(string, Action<Stream>)> { (name + ".safetensors", s => Write(s, StateDictIO.Entries(ema), meta)) };
        if (full)
        {
            var parameters = model.Parameters().ToList();
            // An epoch can end inside an accumulation window (nominal batch 64 over few batches):
            // its gradients are part of the state, or a resumed run would step without them.
            var open = parameters.Select((p, i) => (i, p.Grad)).Where(g => g.Grad is not null);
            files.Add((name + ".state.safetensors", s => Write(s, StateDictIO.Entries(model, "model.")
                .Concat(optimizer.State(parameters).Select(e => ("optimizer." + e.Name, StateDictIO.ToPyTorch(e.Tensor))))
                .Concat(open.Select(g => ($"grad.{g.i}", StateDictIO.ToPyTorch(g.Grad!)))),
                new Dictionary<string, string> { ["producer"] = "yolocore", ["epoch"] = epoch })));
        }
        var json = new JsonObject
        {
            ["epoch"] = state.Epoch, ["best_fitness"] = state.BestFitness, ["ema_updates"] = state.EmaUpdates,
            ["optimizer_steps"] = state.OptimizerSteps, ["last_opt_step"] = state.LastOptStep,
            ["scaler"] = new JsonObject { ["scale"] = state.Scale, ["clean_steps"] = state.CleanSteps, ["skipped"] = state.Skipped },
            ["groups"] = new JsonArray(optimizer.Groups.Select(g => (JsonNode)new JsonObject { ["lr"] = g.Lr, ["momentum"] = g.Momentum, ["weight_decay"] = g.WeightDecay }).ToArray()),
            ["options"] = state.Options.DeepClone(), ["resumable"] = full, ["date"] = DateTime.UtcNow.ToString("O"),
        };
        CheckpointFiles.Write(weightsDir, name, json, files);
    }

    static void Write(Stream stream, IEnumerable<(string, Tensor)> entries, IReadOnlyDictionary<string, string> metadata)
    {
        using var scope = TensorScope.Begin();
        using var _ = Autograd.GradMode.NoGrad();
        Safetensors.Write(stream, entries, metadata);
    }

    /// What --resume accepts, as YOLOv5 users pass it: a run folder, its weights/ folder,
    /// last.json, or last.safetensors (or last.state.safetensors) beside it.
    public static Resumable OpenForResume(string given)
    {
        string manifest = Locate(given);
        string dir = Path.GetDirectoryName(Path.GetFullPath(manifest))!, name = Path.GetFileNameWithoutExtension(manifest);
        var opened = CheckpointFiles.Open(dir, name);
        var json = opened.Manifest;
        if (json["resumable"] is not JsonValue r || !r.TryGetValue<bool>(out bool resumable) || !resumable)
            throw new InvalidDataException($"{opened.ManifestPath} holds weights only (best), not a training state: resume from {Path.Combine(dir, "last.json")}");
        return new Resumable(dir, opened.ManifestPath, ReadState(json, opened.ManifestPath), opened.Repair);
    }

    static string Locate(string given)
    {
        string full = Path.GetFullPath(given);
        if (Directory.Exists(full))
        {
            foreach (var dir in new[] { Path.Combine(full, "weights"), full })
                if (File.Exists(Path.Combine(dir, "last.json")) || File.Exists(Path.Combine(dir, "last.json.tmp"))) return Path.Combine(dir, "last.json");
            throw new FileNotFoundException($"--resume {given}: no weights/last.json in this folder (is it a training run's folder?)");
        }
        if (!File.Exists(full) && !File.Exists(full + ".tmp")) throw new FileNotFoundException($"--resume {given}: no such file or folder", full);
        string file = Path.GetFileName(full), folder = Path.GetDirectoryName(full)!;
        string stem = file.EndsWith(".state.safetensors") ? file[..^".state.safetensors".Length]
            : file.EndsWith(".safetensors") ? file[..^".safetensors".Length]
            : file.EndsWith(".json") ? file[..^".json".Length]
            : file.EndsWith(".pt") ? throw new InvalidDataException($"--resume {given}: a .pt file cannot be resumed here; pass it as --weights to fine-tune from it")
            : throw new InvalidDataException($"--resume {given}: expected a run folder, last.json or last.safetensors");
        string manifest = Path.Combine(folder, stem + ".json");
        if (!File.Exists(manifest) && !File.Exists(manifest + ".tmp"))
            throw new FileNotFoundException($"--resume {given}: no checkpoint {stem}.json beside it in {folder}", manifest);
        return manifest;
    }

    static State ReadState(JsonObject json, string path)
    {
        T Need<T>(JsonNode? node, string key)
        {
            try { return node is not null ? node.GetValue<T>() : throw new InvalidDataException($"{path} has no '{key}'"); }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            { throw new InvalidDataException($"{path}: '{key}' is not a {typeof(T).Name.ToLowerInvariant()}"); }
        }
        var scaler = json["scaler"];
        return new State(Need<int>(json["epoch"], "epoch"), Need<double>(json["best_fitness"], "best_fitness"),
            Need<int>(json["ema_updates"], "ema_updates"), Need<int>(json["optimizer_steps"], "optimizer_steps"),
            Need<int>(json["last_opt_step"], "last_opt_step"), Need<double>(scaler?["scale"], "scaler.scale"),
            Need<int>(scaler?["clean_steps"], "scaler.clean_steps"), Need<int>(scaler?["skipped"], "scaler.skipped"),
            json["options"] as JsonObject ?? throw new InvalidDataException($"{path} has no 'options'"));
    }

    /// Restores the raw model, the EMA model and the optimizer buffers of a resumable checkpoint.
    public static void LoadTrainingState(Resumable checkpoint, Module model, Module ema, Func<Tensor, string, Tensor> ensureBuffer)
    {
        string stem = Path.Combine(checkpoint.WeightsDir, Path.GetFileNameWithoutExtension(checkpoint.ManifestPath));
        StateDictIO.Load(ema, stem + ".safetensors");
        var (list, _) = Safetensors.Load(stem + ".state.safetensors");
        try
        {
            var all = list.ToDictionary(e => e.Name, e => e.Tensor);
            StateDictIO.Load(model, all, prefix: "model.");
            var parameters = model.Parameters().ToList();
            foreach (var (key, t) in all.Where(kv => !kv.Key.StartsWith("model.")))
            {
                var parts = key.Split('.', 3);
                bool grad = parts[0] == "grad" && parts.Length == 2, buffer = parts[0] == "optimizer" && parts.Length == 3;
                if (!(grad || buffer) || !int.TryParse(parts[1], out int index) || index < 0 || index >= parameters.Count)
                    throw new InvalidDataException($"{stem}.state.safetensors: '{key}' names no parameter of this model");
                var p = parameters[index];
                using var scope = TensorScope.Begin();
                var target = grad ? Tensor.Empty(p.Shape, p.DType, p.Device) : ensureBuffer(p, parts[2]);
                var value = StateDictIO.FromPyTorch(t);
                if (value.Shape != target.Shape) throw new InvalidDataException($"{stem}.state.safetensors: '{key}' is {value.Shape}, the parameter is {target.Shape}");
                target.Backend.Copy(value.Device == target.Device ? value : value.To(target.Device), target);
                if (grad) p.SetGrad(target);
            }
        }
        finally { foreach (var (_, t) in list) t.Dispose(); }
    }
}
