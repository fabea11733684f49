using YoloCore.Cpu;
using YoloCore.Diagnostics;
using YoloCore.Nn.Yolo;

namespace YoloCore.Tests;

/// Extension ops (the YOLO loss's and the optimizers' kernels, registered by each backend beside
/// IBackend) and the profiler, one dispatch hook over the backend and its extensions.
public class ExtensionOpsTests
{
    interface INotProvided { void Nothing(); }

    [Fact]
    public void IBackendDeclaresNoneOfTheExtensionOps()
    {
        var primitives = typeof(IBackend).GetMethods().Select(m => m.Name).ToHashSet();
        var extensions = typeof(IYoloLoss).GetMethods().Concat(typeof(IOptimizerKernels).GetMethods()).Concat(typeof(IGraphCapture).GetMethods())
            .Select(m => m.Name).ToList();
        Assert.NotEmpty(extensions);
        Assert.DoesNotContain(extensions, primitives.Contains);
    }

    [Fact]
    public void EveryBackendRegistersTheLossAndOptimizerKernels()
    {
        Assert.NotNull(CpuBackend.Instance.Extension<IYoloLoss>());
        Assert.NotNull(CpuBackend.Instance.Extension<IOptimizerKernels>());
    }

    [Fact]
    public void AnExtensionTheBackendLacksIsNamedInTheError()
    {
        var e = Assert.Throws<NotSupportedException>(() => CpuBackend.Instance.Extension<INotProvided>());
        Assert.Contains(nameof(INotProvided), e.Message);
        Assert.Contains("IOptimizerKernels", e.Message); // what it does provide
        // Through the profiler the same error arrives, not a reflection wrapper.
        var profiled = new OpProfiler(CpuBackend.Instance).Backend;
        Assert.Throws<NotSupportedException>(() => profiled.Extension<INotProvided>());
    }

    [Fact]
    public void TheOpTableHoldsTheLossRowsAddedAtStartup() =>
        Assert.Contains(OpCatalog.All, c => c.Name == YoloLossOp.Catalog[0].Name);

    /// A convolution, the fused loss (an extension op reached through Extension) and an EMA-style
    /// update, with the values they give.
    static double[] Run()
    {
        var rng = new Rng(3);
        using var x = Tensor.Randn(new Shape(1, 5, 5, 4), rng);
        using var w = Tensor.Randn(new Shape(8, 3, 3, 4), rng);
        using var y = x.Conv2d(w, null, 1, 1);
        using var head = Tensor.Randn(new Shape(6, 8), rng);
        using var rows = Tensor.FromArray([1, 4], 2);
        using var tbox = Tensor.Uniform(new Shape(2, 4), rng, 0.2, 1.5);
        using var anchors = Tensor.Uniform(new Shape(2, 2), rng, 0.5, 2);
        using var classes = Tensor.FromArray([0, 2], 2);
        using var weights = Tensor.FromDoubles([1, 2, 3], new Shape(1, 3));
        var (total, items, iou) = YoloLossOp.YoloLoss([new YoloLossLevel(head, rows, tbox, anchors, classes, null)], new YoloLossTerms(3, IouKind.CIoU, 1, 0, 1, 1, 1), weights, weights);
        using var target = y.Detach();
        target.Backend.Extension<IOptimizerKernels>().MultiTensorAxpby([target], [y], Tensor.FromDoubles([0.5, 0.25], new Shape(2), DType.Float64));
        double[] r = [.. target.ToDoubles(), .. total.ToDoubles(), .. items.ToDoubles(), .. iou[0].ToDoubles()];
        total.Dispose();
        items.Dispose();
        iou[0].Dispose();
        return r;
    }

    [Fact]
    public void TheProfilerTimesEveryOpExtensionsIncludedAndChangesNoValue()
    {
        var plain = Run();
        var profiler = new OpProfiler(CpuBackend.Instance);
        Backends.Register(profiler.Backend);
        double[] profiled;
        try { profiled = Run(); }
        finally { Backends.Register(CpuBackend.Instance); }
        Assert.Equal(plain, profiled);
        var calls = profiler.Report().ToDictionary(r => r.Op, r => r.Calls);
        Assert.All(profiler.Report(), r => Assert.Equal(0, r.Launches)); // no launch counter given
        Assert.Equal(1, calls["Conv2d 3x3/1 4-8"]);
        Assert.Equal(1, calls["YoloLoss"]);
        Assert.Equal(1, calls["MultiTensorAxpby"]);
        Assert.All(profiler.Report(), r => Assert.True(r.Ms >= 0));
    }

    /// With a launch counter each op's row gets the launches counted across its own calls: here
    /// a counter that moves by one between the profiler's two reads around each call.
    [Fact]
    public void TheProfilerCountsLaunchesPerOp()
    {
        long counter = 0;
        var profiler = new OpProfiler(CpuBackend.Instance, () => counter++);
        Backends.Register(profiler.Backend);
        try { Run(); }
        finally { Backends.Register(CpuBackend.Instance); }
        Assert.NotEmpty(profiler.Report());
        Assert.All(profiler.Report(), r => Assert.Equal(r.Calls, r.Launches));
    }
}

/// The parity rows of the optimizer step's kernels (doctor --check runs them against a GPU).
public class OptimizerParityTests
{
    [Fact]
    public void EveryOptimizerKernelHasAParityCase()
    {
        var covered = OptimizerParity.Cases.SelectMany(c => c.Kernels).ToHashSet();
        Assert.All(typeof(IOptimizerKernels).GetMethods(), m => Assert.Contains(m.Name, covered));
    }

    /// Against the CPU itself every case runs and agrees exactly: the harness works, and the
    /// cases' outputs are deterministic (a GPU run then measures only the device).
    [Fact]
    public void OnTheCpuEveryCaseRunsAndAgreesWithItself()
    {
        var rows = OptimizerParity.Run(Device.Cpu, DType.Float32);
        Assert.Equal(OptimizerParity.Cases.Length, rows.Count);
        Assert.All(rows, r => Assert.True(r.Failure is null && r.OutputError == 0, $"{r.Op}: {r.OutputError} {r.Failure}"));
    }

    [Fact]
    public void TheCasesSeeWhatTheKernelsDo()
    {
        static double[] Run(string name) { using var _ = TensorScope.Begin(); return OptimizerParity.Cases.Single(c => c.Name == name).Run(Device.Cpu, DType.Float32); }
        Assert.Equal(1, Run("unscale and check (an inf)")[0]); // the flag is set
        var unscaled = Run("unscale and check");
        Assert.Equal(0, unscaled[^1]); // finite: no flag
        // update scale: (scale, clean, skipped) after clean, clean (grows at 2), overflow, clean.
        Assert.Equal([1024, 1, 0, 2048, 0, 0, 1024, 0, 1, 1024, 1, 1], Run("update scale (grow, back off)"));
        var clip = Run("sum of squares, clip coefficient");
        Assert.Equal(Math.Min(1, 10 / (Math.Sqrt(clip[0]) + 1e-6)), clip[1], 6);
        Assert.Equal(1, clip[2]);
        Assert.All(Run("multi-tensor zero")[..^1], v => Assert.Equal(0, v));
        // Through float16 and back: float16's values, not the draws (100 × normal: most need rounding).
        var cast = Run("weight casts, one launch each way");
        Assert.All(cast, v => Assert.Equal((double)(Half)v, v));
        Assert.True(cast.Count(v => v != 0) > cast.Length / 2);
    }
}
