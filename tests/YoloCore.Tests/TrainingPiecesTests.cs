using YoloCore.Autograd;
using YoloCore.Nn;
using YoloCore.Training;

namespace YoloCore.Tests;

public class TrainingPiecesTests
{
    [Fact]
    public void WarmupAndScheduleFollowTheClosedForm()
    {
        // 10 epochs of 50 batches: warmup = max(round(3·50), 100) = 150 iterations.
        var s = new LrSchedule(Epochs: 10, Lr0: 0.01, Lrf: 0.01, Momentum: 0.937);
        int nw = s.WarmupIterations(50);
        Assert.Equal(150, nw);
        // Iteration 30 (epoch 0): bias lr 0.1 → 0.01·lf(0) = 0.01 linearly; others 0 → 0.01.
        Assert.Equal(0.1 + (0.01 - 0.1) * 30 / 150.0, s.GroupLr(0, 30, 0, nw), 12);
        Assert.Equal(0.01 * 30 / 150.0, s.GroupLr(1, 30, 0, nw), 12);
        Assert.Equal(0.8 + (0.937 - 0.8) * 30 / 150.0, s.GroupMomentum(30, nw), 12);
        // Iteration 120 is in epoch 2, whose target is lr0·lf(2) = 0.01·((1 - 0.2)·0.99 + 0.01).
        double lf2 = (1 - 2 / 10.0) * 0.99 + 0.01;
        Assert.Equal(0.01 * lf2, s.Factor(2) * 0.01, 15);
        Assert.Equal(0.1 + (0.01 * lf2 - 0.1) * 120 / 150.0, s.GroupLr(0, 120, 2, nw), 12);
        // After warmup: every group at lr0·lf(epoch), momentum at its final value.
        Assert.Equal(0.01 * ((1 - 7 / 10.0) * 0.99 + 0.01), s.GroupLr(2, 400, 7, nw), 12);
        Assert.Equal(0.937, s.GroupMomentum(400, nw));
        // Cosine: lf(e) = ((1 - cos(eπ/E))/2)(lrf - 1) + 1, from 1 at e = 0 to lrf at e = E.
        var c = s with { Cosine = true };
        Assert.Equal(1.0, c.Factor(0), 12);
        Assert.Equal((1 - Math.Cos(3 * Math.PI / 10)) / 2 * (0.01 - 1) + 1, c.Factor(3), 12);
        Assert.Equal(0.01, c.Factor(10), 12);
        // Accumulation grows from 1 to nbs/batch = 64/16 = 4 over the warmup.
        Assert.Equal(1, LrSchedule.Accumulate(0, nw, 64, 16));
        Assert.Equal(2, LrSchedule.Accumulate(50, nw, 64, 16)); // interp = 2.0
        Assert.Equal(4, LrSchedule.Accumulate(500, nw, 64, 16));
    }

    sealed class TwoParams : Module
    {
        public TwoParams(double a, double b)
        {
            A = RegisterParameter("a", Tensor.FromArray([(float)a], 1));
            B = RegisterBuffer("b", Tensor.FromArray([(float)b], 1));
        }
        public Tensor A { get; }
        public Tensor B { get; }
        public override Tensor Forward(Tensor x) => x;
    }

    [Fact]
    public void EmaAveragesWeightsAndBuffersWithTheRampedDecay()
    {
        using var model = new TwoParams(1, 10);
        using var shadow = new TwoParams(0, 0);
        var ema = new ModelEma(shadow, model);
        Assert.Equal(1f, shadow.A.ToArray<float>()[0]);
        model.A.Backend.Fill(model.A, 3);
        model.B.Backend.Fill(model.B, 20);
        ema.Update();
        double d = 0.9999 * (1 - Math.Exp(-1 / 2000.0));
        Assert.Equal(d * 1 + (1 - d) * 3, shadow.A.ToArray<float>()[0], 5);
        Assert.Equal(d * 10 + (1 - d) * 20, shadow.B.ToArray<float>()[0], 4);
        Assert.False(shadow.Training);
    }

    [Fact]
    public void ClippingScalesTheTotalNormDownToTheLimit()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.FromArray([3f, 0f], 2);
        var b = Tensor.FromArray([4f], 1);
        a.RequiresGrad = b.RequiresGrad = true;
        ((a * a).Sum() * 0.5 + (b * b).Sum() * 0.5).Backward(); // grads = values: norm 5
        Assert.Equal(5, GradientClipping.ClipByNorm([a, b], 10), 6); // below the limit: unchanged
        Assert.Equal([3f, 0f], a.Grad!.ToArray<float>());
        Assert.Equal(5, GradientClipping.ClipByNorm([a, b], 1), 6);
        Assert.Equal(3 / (5 + 1e-6), a.Grad!.ToArray<float>()[0], 5);
        Assert.Equal(4 / (5 + 1e-6), b.Grad!.ToArray<float>()[0], 5);
        a.ZeroGrad();
        b.ZeroGrad();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SumOfSquaresOverLongTensorsMatchesADoubleSum(bool float64)
    {
        // Lengths that are not multiples of any vector width, so the vector body and the tail both run.
        using var scope = TensorScope.Begin();
        var rng = new Random(7);
        var tensors = new List<Tensor>();
        double expected = 0;
        foreach (int n in new[] { 1, 37, 1000, 65_541 })
        {
            var v = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            var f = v.Select(x => (float)x).ToArray();
            tensors.Add(float64 ? Tensor.FromArray(v, n) : Tensor.FromArray(f, n));
            expected += float64 ? v.Sum(x => x * x) : f.Sum(x => (double)x * x);
        }
        using var total = Tensor.Zeros(new Shape(), DType.Float64, Device.Cpu);
        tensors[0].Backend.Extension<IOptimizerKernels>().SumOfSquares(tensors, total);
        Assert.Equal(expected, total.Item(), 1e-9 * expected);
    }

    /// Backward seeded with the scale (× the world size under DDP) gives what (loss·scale·world).Backward()
    /// would, and leaves the scale as it was (the engine never adds into the seed's storage).
    [Fact]
    public void TheBackwardSeedIsTheScaleTimesTheWorldSize()
    {
        using var scope = TensorScope.Begin();
        using var scaler = new GradScaler(enabled: true, Device.Cpu, initialScale: 8);
        var p = Tensor.FromArray([3f], 1);
        p.RequiresGrad = true;
        using var loss = (p * p).Sum() + p.Sum() * 0;
        using (var seed = scaler.BackwardSeed(loss, worldSize: 2)) loss.Backward(seed);
        Assert.Equal([96f], p.Grad!.ToArray<float>()); // 2p · 8 · 2
        Assert.Equal(8, scaler.Scale);
        using var off = new GradScaler(enabled: false, Device.Cpu);
        Assert.Null(off.BackwardSeed(loss));
        using var two = off.BackwardSeed(loss, worldSize: 2);
        Assert.Equal(2, two!.Item());
    }

    [Fact]
    public void GradScalerUnscalesSkipsOverflowsAndAdaptsTheScale()
    {
        using var scope = TensorScope.Begin();
        using var scaler = new GradScaler(enabled: true, Device.Cpu, initialScale: 1024, growthInterval: 3);
        var p = Tensor.FromArray([2f, -4f], 2);
        p.RequiresGrad = true;
        using var loss = (p * p).Sum() * 0.5;
        using (var seed = scaler.BackwardSeed(loss)) loss.Backward(seed); // grad = scale·p
        scaler.Unscale([p]);
        Assert.Equal(0, scaler.FoundNonFinite!.Item());
        Assert.Equal([2f, -4f], p.Grad!.ToArray<float>());
        scaler.Update();
        Assert.Equal(1, scaler.CleanSteps);
        p.ZeroGrad();
        (p * float.PositiveInfinity).Sum().Backward();
        scaler.Unscale([p]);
        Assert.Equal(1, scaler.FoundNonFinite.Item());
        scaler.Update();
        Assert.Equal(512, scaler.Scale);
        Assert.Equal(1, scaler.Skipped);
        Assert.Equal(0, scaler.CleanSteps);
        p.ZeroGrad();
        for (int i = 0; i < 3; i++)
        {
            scaler.Unscale([p]); // no gradients: the flag is cleared, the step is clean
            scaler.Update();
        }
        Assert.Equal(1024, scaler.Scale);
        scaler.Scale = 64; // resume restores the state
        Assert.Equal(64, scaler.Scale);
        using var off = new GradScaler(enabled: false, Device.Cpu);
        Assert.Equal(1, off.Scale);
        Assert.Null(off.FoundNonFinite);
    }

    [Fact]
    public void TheClippingCoefficientIsComputedWhereTheGradientsAre()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.FromArray([3f, 0f], 2);
        var b = Tensor.FromArray([4f], 1); // norm 5
        Assert.Equal(1.0, GradientClipping.Coefficient([a, b], 10)!.Item());
        Assert.Equal((float)(2 / (5 + 1e-6)), (float)GradientClipping.Coefficient([a, b], 2)!.Item());
        Assert.Null(GradientClipping.Coefficient([], 2));
    }

    /// train.py updates the EMA after every optimizer step, also one the loss scaler skipped
    /// (ema.update follows scaler.step unconditionally), so the decay schedule counts it.
    [Fact]
    public void ASkippedStepStillUpdatesTheEma()
    {
        using var setup = new TrainingSetup(YoloCore.Nn.Yolo.ModelConfig.Load("yolov5n"), 3, 64, 2, new Hyperparameters(), OptimizerKind.SGD,
            Device.Cpu, amp: false, seed: 1);
        // A scale beyond float32: the scaled gradients are not finite and the step must be skipped.
        using var scaler = new GradScaler(enabled: true, Device.Cpu, initialScale: 1e300);
        using var step = new TrainStep(setup.Model, setup.Loss, setup.Optimizer, setup.Ema, scaler, DType.Float32);
        using var scope = TensorScope.Begin();
        var pixels = new byte[2 * 64 * 64 * 3];
        new Random(3).NextBytes(pixels);
        var before = setup.Model.Parameters().First().ToArray<float>();
        var r = step.Run(Tensor.FromArray<byte>(pixels, new Shape(2, 64, 64, 3)), [0, 1, 0.5, 0.5, 0.3, 0.4, 1, 2, 0.3, 0.6, 0.2, 0.2], optimizerStep: true).Read();
        Assert.True(r.Skipped && !r.Stepped);
        Assert.Equal(before, setup.Model.Parameters().First().ToArray<float>());
        Assert.Equal(1, setup.Ema.Updates);
    }

    static (TrainingSetup Setup, Tensor Images, double[] Targets) TinyStep()
    {
        var setup = new TrainingSetup(YoloCore.Nn.Yolo.ModelConfig.Load("yolov5n"), 3, 64, 2, new Hyperparameters(), OptimizerKind.SGD,
            Device.Cpu, amp: false, seed: 1);
        var pixels = new byte[2 * 64 * 64 * 3];
        new Random(3).NextBytes(pixels);
        var images = TensorScope.Escape(Tensor.FromArray<byte>(pixels, new Shape(2, 64, 64, 3)));
        return (setup, images, [0, 1, 0.5, 0.5, 0.3, 0.4, 1, 2, 0.3, 0.6, 0.2, 0.2]);
    }

    /// With SGD a training step reads nothing back to the host (on a GPU each read waits for all
    /// queued work): the loss scaler's check, skip and update and the clipping coefficient stay
    /// on the device, and the loss items come back later through PendingStep. The loss used to
    /// take five reads, then one, plus the norm and the overflow flag.
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void AStepWithSgdNeverWaitsForTheDevice(bool optimizerStep, bool scaled)
    {
        var (setup, images, targets) = TinyStep();
        using var _ = setup;
        using var __ = images;
        using var scaler = new GradScaler(enabled: scaled, Device.Cpu, initialScale: 8);
        using var step = new TrainStep(setup.Model, setup.Loss, setup.Optimizer, setup.Ema, scaler, DType.Float32);
        using var scope = TensorScope.Begin();
        step.Run(images, targets, optimizerStep: false).Read(); // the first step reads the anchors once
        long before = Tensor.HostReads;
        var pending = step.Run(images, targets, optimizerStep);
        Assert.Equal(0, Tensor.HostReads - before);
        var r = pending.Read();
        Assert.Equal(optimizerStep, r.Stepped);
        Assert.False(r.Skipped);
    }

    /// A step's items arrive when read after the next step has run, equal to the loss of the
    /// weights it ran with; reading one after two more steps is refused rather than wrong.
    [Fact]
    public void AStepsLossIsReadOneStepLate()
    {
        var (setup, images, targets) = TinyStep();
        using var _ = setup;
        using var __ = images;
        using var scope = TensorScope.Begin();
        var first = setup.Step.Run(images, targets, optimizerStep: false); // no update: the weights stay
        StepResult expected;
        using (GradMode.NoGrad())
        {
            var heads = setup.Model.ForwardHeads(YoloCore.Nn.Yolo.YoloModel.Input(images, DType.Float32));
            var loss = setup.Loss.Compute(heads, targets);
            expected = new StepResult(loss.TotalValue, loss.Box, loss.Obj, loss.Cls, false, false);
        }
        var second = setup.Step.Run(images, targets, optimizerStep: true);
        var r = first.Read();
        Assert.Equal(expected.Loss, r.Loss, 1e-6 * expected.Loss);
        Assert.Equal(expected.Box, r.Box, 1e-6 * expected.Box);
        Assert.Equal(expected.Cls, r.Cls, 1e-6 * expected.Cls);
        Assert.True(second.Read().Stepped);
        Assert.Equal(r, first.Read()); // read once, then kept
        var third = setup.Step.Run(images, targets, optimizerStep: false);
        setup.Step.Run(images, targets, optimizerStep: false);
        setup.Step.Run(images, targets, optimizerStep: false); // third's slot is in use again
        Assert.Throws<InvalidOperationException>(() => third.Read());
    }

    /// Hands out a new fence for every download and records which are still unwaited.
    public class FenceLedger : System.Reflection.DispatchProxy
    {
        internal IBackend Inner = null!;
        internal readonly HashSet<long> Outstanding = [];
        long next;

        protected override object? Invoke(System.Reflection.MethodInfo? method, object?[]? args)
        {
            if (method!.Name == nameof(IBackend.DownloadAsync))
            {
                method.Invoke(Inner, args);
                Outstanding.Add(++next);
                return next;
            }
            if (method.Name == nameof(IBackend.HostWait) && (long)args![0]! > 0)
            {
                Assert.True(Outstanding.Remove((long)args[0]!), $"fence {args[0]} waited on twice or never handed out");
                return null;
            }
            try { return method.Invoke(Inner, args); }
            catch (System.Reflection.TargetInvocationException e) { throw e.InnerException!; }
        }
    }

    /// Every download's fence is waited on exactly once, whether the result is read, left unread
    /// (bench) or still in flight when the step is disposed, so none leak and no pinned slot is
    /// freed under a copy.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryDownloadFenceIsReleasedOnce(bool read)
    {
        var ledger = System.Reflection.DispatchProxy.Create<IBackend, FenceLedger>();
        var fences = (FenceLedger)(object)ledger;
        fences.Inner = YoloCore.Cpu.CpuBackend.Instance;
        var (setup, images, targets) = TinyStep();
        Backends.Register(ledger);
        try
        {
            using var _ = images;
            using (setup)
            using (var scope = TensorScope.Begin())
                for (int i = 0; i < 5; i++)
                {
                    var pending = setup.Step.Run(images, targets, optimizerStep: i % 2 == 1);
                    if (read) pending.Read();
                }
        }
        finally { Backends.Register(YoloCore.Cpu.CpuBackend.Instance); }
        Assert.Empty(fences.Outstanding);
    }
}
