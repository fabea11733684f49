using System.Collections.Concurrent;
using System.Text.Json;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;
using YoloCore.Training;

namespace YoloCore.Tests.Golden;

/// Everything the engine computes for one golden case, computed once and shared by the tests:
/// the model loaded from init.*, one train-mode forward and backward, an SGD step, eval decoding.
public sealed class GoldenRun
{
    static readonly ConcurrentDictionary<string, Lazy<GoldenRun>> cache = new();

    public static GoldenRun For(string name) => cache.GetOrAdd(name, n => new Lazy<GoldenRun>(() => new GoldenRun(n))).Value;

    public GoldenCase Case { get; }
    public double[][] Heads { get; }
    public LossResult Loss { get; }
    public double LossValue { get; }
    public Dictionary<string, double[]> Grads { get; } = [];
    public Dictionary<string, double[]> RunningStats { get; } = [];
    public Dictionary<string, double[]> AfterStep { get; } = [];
    public double[] EvalPred { get; }
    public List<Detection>[] Nms { get; }
    public Dictionary<string, double[]> Init { get; } = [];

    GoldenRun(string name)
    {
        Case = GoldenCase.Load(name);
        var c = Case;
        using var model = new YoloModel(ModelConfig.Load(c.Cfg).WithClasses(c.Nc));
        StateDictIO.Load(model, c.Tensors, prefix: "init.");
        foreach (var (n, t) in model.StateDict()) Init[n] = t.ToDoubles();

        using var scope = TensorScope.Begin();
        var images = c["input.images"].Permute(0, 2, 3, 1); // NCHW → NHWC
        var targets = c["input.targets"].ToDoubles();
        var hyp = HypFromJson(c.Json.GetProperty("hyp_used_by_loss"));

        model.Train();
        var heads = model.ForwardHeads(images);
        Heads = heads.Select(h => h.ToDoubles()).ToArray();
        Loss = new YoloLoss(model.Detect, hyp).Compute(heads, targets);
        LossValue = Loss.TotalValue; // reads the four items while their tensors live
        foreach (var (n, t) in model.NamedBuffers()) if (n.Contains("running_")) RunningStats[n] = t.ToDoubles();
        Loss.Total.Backward();
        foreach (var (n, p) in model.NamedParameters()) Grads[n] = p.Grad?.ToDoubles() ?? new double[p.Count];

        var sgd = c.Json.GetProperty("sgd");
        using (var opt = new Sgd(YoloParamGroups.Create(model, sgd.GetProperty("lr").GetDouble(), sgd.GetProperty("momentum").GetDouble(),
                   sgd.GetProperty("weight_decay").GetDouble(), sgd.GetProperty("nesterov").GetBoolean())))
        {
            opt.Step();
            opt.ZeroGrad();
        }
        foreach (var (n, p) in model.NamedParameters()) AfterStep[n] = p.ToDoubles();

        // Eval on the initial weights with the running statistics of the train-mode forward (the
        // golden script evaluates its model after that forward, before the optimizer step).
        StateDictIO.Load(model, c.Tensors, prefix: "init.");
        foreach (var (n, t) in model.NamedBuffers())
            if (c.Tensors.TryGetValue("after_forward." + n, out var stat)) t.Backend.Copy(stat, t);
        model.Eval();
        using var __ = Autograd.GradMode.NoGrad();
        var pred = model.Forward(images);
        EvalPred = pred.ToDoubles();
        var nms = c.Json.GetProperty("nms");
        Nms = YoloCore.Nn.Yolo.Nms.Run(pred, nms.GetProperty("conf_thres").GetDouble(), nms.GetProperty("iou_thres").GetDouble(), nms.GetProperty("max_det").GetInt32());
    }

    static LossHyperparameters HypFromJson(JsonElement h) =>
        LossHyperparameters.FromYoloV5(h.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).ToDictionary(p => p.Name, p => p.Value.GetDouble()));
}
