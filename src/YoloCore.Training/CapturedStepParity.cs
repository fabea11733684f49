using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// The captured training step against the eager one: the same yolov5n steps (64 px, batch 2)
/// from the same weights, once eager and once with graphs, while the learning rate, momentum,
/// targets and (at steps 5 and 6) the loss's buffer capacity change, as in warm-up; optimizer
/// steps every `accumulate` steps (the others only accumulate gradients, each kind its own graph).
/// On the CPU the two are identical (GraphCaptureTests); `doctor --check` runs it on each GPU.
public static class CapturedStepParity
{
    /// Steps run, graphs captured, steps replayed, ops in the largest graph, and the largest
    /// differences: of any loss item (relative) and of any state entry (relative to its largest value).
    public sealed record Result(int Steps, int Captures, int Replays, int GraphOps, double LossDifference, double StateDifference,
        IReadOnlyList<int> Capacities);

    /// The eager and captured runs' losses per step (total, box, obj, cls) and final state
    /// (model, EMA and optimizer entries, the EMA's update and the optimizer's step counts).
    public sealed record Run(List<double[]> Losses, Dictionary<string, float[]> State, int Captures, int Replays, int GraphOps);

    /// Labels per step: steps 5 and 6 have enough to need the next capacity.
    public static readonly int[] Labels = [2, 3, 1, 4, 60, 60, 2, 3];

    public static Result Compare(Device device, bool amp, OptimizerKind optimizer = OptimizerKind.SGD, int accumulate = 1)
    {
        var eager = Train(device, amp, graphs: false, optimizer, out var capacities, accumulate);
        var captured = Train(device, amp, graphs: true, optimizer, out _, accumulate);
        double loss = 0, state = 0;
        for (int i = 0; i < eager.Losses.Count; i++)
            for (int j = 0; j < 4; j++)
                loss = Math.Max(loss, Math.Abs(eager.Losses[i][j] - captured.Losses[i][j]) / Math.Max(1e-12, Math.Abs(eager.Losses[i][j])));
        foreach (var (name, a) in eager.State)
        {
            var b = captured.State[name];
            double scale = Math.Max(1e-12, a.Max(v => Math.Abs((double)v)));
            for (int k = 0; k < a.Length; k++) state = Math.Max(state, Math.Abs((double)a[k] - b[k]) / scale);
        }
        return new Result(Labels.Length, captured.Captures, captured.Replays, captured.GraphOps, loss, state, capacities);
    }

    /// The targets of step i: labels boxes in two images, drawn from a fixed seed.
    static double[] Targets(int labels, Random rng)
    {
        var t = new List<double>();
        for (int i = 0; i < labels; i++)
            t.AddRange([i % 2, rng.Next(3), 0.2 + 0.6 * rng.NextDouble(), 0.2 + 0.6 * rng.NextDouble(), 0.05 + 0.3 * rng.NextDouble(), 0.05 + 0.3 * rng.NextDouble()]);
        return [.. t];
    }

    /// capacities: the loss buffers' capacity each step needs.
    public static Run Train(Device device, bool amp, bool graphs, OptimizerKind optimizer, out List<int> capacities, int accumulate = 1)
    {
        capacities = [];
        using var setup = new TrainingSetup(ModelConfig.Load("yolov5n"), 3, 64, 2, new Hyperparameters(), optimizer, device, amp, seed: 1);
        setup.Step.UseGraphs = graphs;
        using var scope = TensorScope.Begin();
        var rng = new Random(5);
        var pixels = new byte[2 * 64 * 64 * 3];
        var images = Tensor.Zeros(new Shape(2, 64, 64, 3), DType.UInt8, device);
        var losses = new List<double[]>();
        var pending = new Queue<PendingStep>();
        void ReadOne()
        {
            var r = pending.Dequeue().Read();
            losses.Add([r.Loss, r.Box, r.Obj, r.Cls]);
        }
        for (int i = 0; i < Labels.Length; i++)
        {
            rng.NextBytes(pixels);
            images.CopyFrom(pixels);
            for (int j = 0; j < setup.Optimizer.Groups.Count; j++)
            {
                setup.Optimizer.Groups[j].Lr = 0.01 * (i + 1) / (j + 1);
                setup.Optimizer.Groups[j].Momentum = 0.8 + 0.01 * i;
            }
            var targets = Targets(Labels[i], rng);
            capacities.Add(StagedLossInputs.CapacityFor(setup.Loss.Prepare(targets, 2, [(8, 8), (4, 4), (2, 2)]).MaxCount));
            pending.Enqueue(setup.Step.Run(images, targets, optimizerStep: (i + 1) % accumulate == 0));
            if (pending.Count == 2) ReadOne(); // one step late, as the trainer reads
        }
        while (pending.Count > 0) ReadOne();
        var state = new Dictionary<string, float[]>();
        foreach (var (name, t) in setup.Model.StateDict()) if (t.DType == DType.Float32) state["model." + name] = t.ToArray<float>();
        foreach (var (name, t) in setup.EmaModel.StateDict()) if (t.DType == DType.Float32) state["ema." + name] = t.ToArray<float>();
        foreach (var (name, t) in setup.Optimizer.State(setup.Model.Parameters().ToList())) state["optimizer." + name] = t.ToArray<float>();
        state["ema.updates"] = [setup.Ema.Updates];
        state["optimizer.steps"] = [setup.Optimizer.Steps];
        return new Run(losses, state, setup.Step.Captures, setup.Step.Replays, setup.Step.GraphOps);
    }
}
