using System.Text.Json;
using System.Text.Json.Nodes;
using YoloCore.Nn;
using YoloCore.Nn.IO;

namespace YoloCore.Training;

/// A training checkpoint in three files beside each other (weights/NAME.*):
///   NAME.safetensors        the EMA model's weights under YOLOv5's state-dict names, in PyTorch
///                           layout: what val, detect and PyTorch load;
///   NAME.state.safetensors  what resuming needs besides: the raw model ("model.…") and the
///                           optimizer's buffers ("optimizer.<param index>.<buffer>");
///   NAME.json               epoch, fitness, EMA updates, optimizer steps and group settings,
///                           loss-scaler state, the options and hyperparameters.
/// The JSON is written last, each file to a temporary name first: a run interrupted while saving
/// leaves either the previous checkpoint or the new one, never a half-written one --resume trusts.
public static class Checkpoint
{
    public sealed record State(int Epoch, double BestFitness, int EmaUpdates, int OptimizerSteps, int LastOptStep,
        double Scale, int CleanSteps, int Skipped, JsonObject Options);

    /// metadata goes into the weights file's header (cfg, nc, names), so val and detect can rebuild
    /// the model from the file alone.
    public static void Save(string weightsDir, string name, Module model, Module ema, IOptimizer optimizer, State state, bool full,
        IReadOnlyDictionary<string, string> metadata)
    {
        Directory.CreateDirectory(weightsDir);
        string stem = Path.Combine(weightsDir, name);
        var meta = new Dictionary<string, string>(metadata) { ["format"] = "pt", ["producer"] = "yolocore", ["epoch"] = state.Epoch.ToString() };
        StateDictIO.Save(ema, stem + ".safetensors", meta);
        if (full)
        {
            using var scope = TensorScope.Begin();
            var parameters = model.Parameters().ToList();
            var entries = model.StateDict().Select(e => ("model." + e.Name, e.Tensor.Rank == 4 ? StateDictIO.OhwiToOihw(e.Tensor) : e.Tensor))
                .Concat(optimizer.State(parameters).Select(s => ("optimizer." + s.Name, s.Tensor.Rank == 4 ? StateDictIO.OhwiToOihw(s.Tensor) : s.Tensor)));
            Safetensors.Save(stem + ".state.safetensors", entries);
        }
        var json = new JsonObject
        {
            ["epoch"] = state.Epoch, ["best_fitness"] = state.BestFitness, ["ema_updates"] = state.EmaUpdates,
            ["optimizer_steps"] = state.OptimizerSteps, ["last_opt_step"] = state.LastOptStep,
            ["scaler"] = new JsonObject { ["scale"] = state.Scale, ["clean_steps"] = state.CleanSteps, ["skipped"] = state.Skipped },
            ["groups"] = new JsonArray(optimizer.Groups.Select(g => (JsonNode)new JsonObject { ["lr"] = g.Lr, ["momentum"] = g.Momentum, ["weight_decay"] = g.WeightDecay }).ToArray()),
            ["options"] = state.Options.DeepClone(), ["resumable"] = full, ["date"] = DateTime.UtcNow.ToString("O"),
        };
        string tmp = stem + ".json.tmp";
        File.WriteAllText(tmp, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(tmp, stem + ".json", overwrite: true);
    }

    public static JsonObject ReadJson(string jsonPath)
    {
        if (!File.Exists(jsonPath)) throw new FileNotFoundException($"no checkpoint at {jsonPath}", jsonPath);
        return JsonNode.Parse(File.ReadAllText(jsonPath))?.AsObject() ?? throw new InvalidDataException($"{jsonPath} is empty");
    }

    /// Restores the raw model and the optimizer buffers of a resumable checkpoint (EMA separately).
    public static void LoadTrainingState(string weightsDir, string name, Module model, Func<Tensor, string, Tensor> ensureBuffer)
    {
        string path = Path.Combine(weightsDir, name + ".state.safetensors");
        var (list, _) = Safetensors.Load(path);
        try
        {
            var all = list.ToDictionary(e => e.Name, e => e.Tensor);
            StateDictIO.Load(model, all, prefix: "model.");
            var parameters = model.Parameters().ToList();
            foreach (var (key, t) in all.Where(kv => kv.Key.StartsWith("optimizer.")))
            {
                var parts = key["optimizer.".Length..].Split('.', 2);
                var p = parameters[int.Parse(parts[0])];
                var buffer = ensureBuffer(p, parts[1]);
                using var scope = TensorScope.Begin();
                var value = t.Rank == 4 ? StateDictIO.OihwToOhwi(t) : t;
                buffer.Backend.Copy(value.Device == buffer.Device ? value : value.To(buffer.Device), buffer);
            }
        }
        finally { foreach (var (_, t) in list) t.Dispose(); }
    }
}
