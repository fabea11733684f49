using YoloCore.Training;

namespace YoloCore.Tests;

/// Graph capture (IGraphCapture) on the CPU, which records the ops and replays them under CUDA's
/// rules, and the training step captured once and replayed: it must give exactly the eager
/// steps' losses, weights, EMA and optimizer state while the learning rate, momentum, EMA decay
/// and the number of targets change from step to step.
public class GraphCaptureTests
{
    static IGraphCapture Capture => Backends.For(Device.Cpu).Extension<IGraphCapture>();

    [Fact]
    public void AReplayReadsDeviceMemoryAsItIsThenAndHostCopiesAsTheyWere()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1f, 2f, 3f], new Shape(3));
        var y = Tensor.Zeros(new Shape(3));
        Capture.BeginCapture();
        ICapturedGraph graph;
        try
        {
            // x · 2 + c, c copied from the host while capturing: a constant of the graph.
            var c = Tensor.FromArray([10f, 20f, 30f], new Shape(3));
            y.Backend.Copy(x * 2 + c, y);
            graph = Capture.EndCapture();
        }
        catch
        {
            Capture.AbortCapture();
            throw;
        }
        using var _ = graph;
        Assert.Equal([0f, 0f, 0f], y.ToArray<float>()); // captured, not run
        graph.Replay();
        Assert.Equal([12f, 24f, 36f], y.ToArray<float>());
        x.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes<float>([5f, 6f, 7f]));
        graph.Replay();
        Assert.Equal([20f, 32f, 44f], y.ToArray<float>());
        Assert.True(graph.Ops >= 3, $"{graph.Ops} ops recorded");
    }

    [Fact]
    public void ReadingBackWhileCapturingIsRefusedAndTheBackendComesBack()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray([1f, 2f], new Shape(2));
        Capture.BeginCapture();
        var e = Assert.Throws<InvalidOperationException>(() => (x * 3).ToArray<float>());
        Capture.AbortCapture();
        Assert.Contains("captured", e.Message);
        Assert.False(Capture.IsCapturing);
        Assert.Equal([3f, 6f], (x * 3).ToArray<float>());
    }

    [Fact]
    public void StagedValuesKeepWhatTheHostSetAndUploadIt()
    {
        using var values = new StagedValues(Device.Cpu, (new Shape(2), DType.Float64), (new Shape(3), DType.Int32));
        values.Host<double>(0)[0] = 0.25;
        values.Host<int>(1)[2] = 7;
        values.Upload();
        values.Host<double>(0)[1] = -1;
        values.Upload(); // the other host slot: field 1 must still hold 7
        Assert.Equal([0.25, -1], values[0].ToArray<double>());
        Assert.Equal([0, 0, 7], values[1].ToArray<int>());
        Assert.Throws<ArgumentException>(() => values.Host<float>(0));
    }

    /// Eight steps of yolov5n, one run eager and one captured (CapturedStepParity): the learning
    /// rate and momentum change every step (as in warm-up), the targets too, and steps 5 and 6
    /// have so many that the loss needs bigger buffers (a second graph, after one eager run).
    [Fact]
    public void ACapturedTrainingStepReplaysTheEagerStepsExactly()
    {
        var eager = CapturedStepParity.Train(Device.Cpu, amp: false, graphs: false, OptimizerKind.SGD, out var capacities);
        var captured = CapturedStepParity.Train(Device.Cpu, amp: false, graphs: true, OptimizerKind.SGD, out _);
        Assert.Equal(eager.Losses, captured.Losses);
        foreach (var (name, w) in eager.State)
            Assert.True(w.SequenceEqual(captured.State[name]), $"{name} differs between the eager and the replayed steps");
        // A capacity's first step runs eagerly, its second is captured, and every step after
        // that replays (the first step also learns the grids).
        Assert.True(capacities.Distinct().Count() >= 2, $"capacities {string.Join(", ", capacities)}: the buffers never grew");
        var seen = new Dictionary<int, int>();
        int replays = 0;
        foreach (int c in capacities) if ((seen[c] = seen.GetValueOrDefault(c) + 1) > 1) replays++;
        Assert.Equal((seen.Count(kv => kv.Value > 1), replays), (captured.Captures, captured.Replays));
        Assert.Equal((0, 0), (eager.Captures, eager.Replays));
    }

    /// Gradient accumulation (an optimizer step every second micro-batch, as batch 16 with
    /// nominal batch 32 gives): the accumulating micro-batches and the ones that close the
    /// window are captured as two graphs per shape and replay the eager run exactly. The gradients
    /// stay in their buffers between steps (zeroed in place), which changes no number.
    [Fact]
    public void AccumulatingMicroBatchesAreCapturedAndReplayExactly()
    {
        var eager = CapturedStepParity.Train(Device.Cpu, amp: false, graphs: false, OptimizerKind.SGD, out var capacities, accumulate: 2);
        var captured = CapturedStepParity.Train(Device.Cpu, amp: false, graphs: true, OptimizerKind.SGD, out _, accumulate: 2);
        Assert.Equal(eager.Losses, captured.Losses);
        foreach (var (name, w) in eager.State)
            Assert.True(w.SequenceEqual(captured.State[name]), $"{name} differs between the eager and the replayed steps");
        // Steps 0-3 and 6-7 share a capacity: 0 and 1 run eagerly (an accumulating micro-batch and
        // an optimizer step), 2 and 3 are captured, 6 and 7 replay; 4 and 5 need a larger capacity.
        Assert.Equal(capacities[0], capacities[6]);
        Assert.NotEqual(capacities[0], capacities[4]);
        Assert.Equal((2, 4), (captured.Captures, captured.Replays));
        Assert.Equal(4, (int)captured.State["optimizer.steps"][0]);
    }

    /// Gradients dropped outside the step (a caller's ZeroGrad) leave a graph adding into buffers
    /// nobody reads: the step runs eagerly while the buffers are missing, then notices the stale
    /// graphs, drops them and captures again; the weights end as the eager run's.
    [Fact]
    public void AGraphWhoseGradientBuffersWereReplacedIsCapturedAgain()
    {
        var (eagerWeights, _) = DropGradientsMidWindow(graphs: false);
        var (weights, counts) = DropGradientsMidWindow(graphs: true);
        Assert.Equal([(2, 2), (2, 3), (2, 4), (2, 6)], counts);
        for (int i = 0; i < weights.Count; i++) Assert.True(weights[i].SequenceEqual(eagerWeights[i]), $"parameter {i} differs from the eager run's");
    }

    /// Four accumulation windows, the third of three micro-batches with the gradients dropped
    /// after its first; the final weights, and (graphs, replays) after the second window, the
    /// third's second micro-batch, the third window and the fourth.
    static (List<float[]> Weights, List<(int, int)> Counts) DropGradientsMidWindow(bool graphs)
    {
        using var setup = new TrainingSetup(YoloCore.Nn.Yolo.ModelConfig.Load("yolov5n"), 3, 64, 2, new Hyperparameters(), OptimizerKind.SGD, Device.Cpu, amp: false, seed: 1);
        setup.Step.UseGraphs = graphs;
        using var scope = TensorScope.Begin();
        double[] targets = [0, 1, 0.5, 0.5, 0.3, 0.4, 1, 2, 0.4, 0.6, 0.2, 0.2];
        var pixels = new byte[2 * 64 * 64 * 3];
        var rng = new Random(3);
        var images = Tensor.Zeros(new Shape(2, 64, 64, 3), DType.UInt8);
        var counts = new List<(int, int)>();
        void Step(bool optimizerStep)
        {
            rng.NextBytes(pixels); // each micro-batch its own images: their gradients differ
            images.CopyFrom(pixels);
            setup.Step.Run(images, targets, optimizerStep).Read();
        }
        void Count() => counts.Add((setup.Step.Captures, setup.Step.Replays));
        Step(false); Step(true); // eager: creates the gradients
        Step(false); Step(true); // captured
        Count();
        Step(false); // replayed: the window is open, gradients accumulated
        setup.Model.ZeroGrad(); // dropped from outside
        Step(false); // eager: the gradients are new buffers
        Count();
        Step(true); // the stale graph goes; captured again and replayed
        Count();
        Step(false); Step(true);
        Count();
        return (setup.Model.Parameters().Select(p => p.ToArray<float>()).ToList(), counts);
    }

    [Fact]
    public void AdamStepsAreNeverCaptured()
    {
        var run = CapturedStepParity.Train(Device.Cpu, amp: false, graphs: true, OptimizerKind.Adam, out _);
        Assert.Equal((0, 0), (run.Captures, run.Replays));
    }

    /// Each graph keeps a step's memory, so shapes beyond MaxGraphs run eagerly (--rect batches).
    [Fact]
    public void NoMoreThanMaxGraphsAreKept()
    {
        using var setup = new TrainingSetup(YoloCore.Nn.Yolo.ModelConfig.Load("yolov5n"), 3, 64, 2, new Hyperparameters(), OptimizerKind.SGD, Device.Cpu, amp: false, seed: 1);
        setup.Step.UseGraphs = true;
        foreach (var g in setup.Optimizer.Groups) g.Lr = 1e-3; // warm-up's small steps: no warm-up runs here
        using var scope = TensorScope.Begin();
        double[] targets = [0, 1, 0.5, 0.5, 0.3, 0.4, 1, 2, 0.4, 0.6, 0.2, 0.2];
        for (int round = 0; round < 3; round++)
            for (int s = 0; s <= TrainStep.MaxGraphs; s++)
            {
                int w = 32 + 32 * s;
                var pixels = new byte[2 * 64 * w * 3];
                new Random(s).NextBytes(pixels);
                setup.Step.Run(Tensor.FromArray(pixels, new Shape(2, 64, w, 3)), targets, optimizerStep: true).Read();
            }
        Assert.Equal(TrainStep.MaxGraphs, setup.Step.Captures);
        // Rounds 2 and 3 replay the kept shapes (round 2 captures them) and run the extra one eagerly.
        Assert.Equal(2 * TrainStep.MaxGraphs, setup.Step.Replays);
    }
}
