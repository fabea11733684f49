namespace YoloCore.Nn;

/// YOLOv5's "Conv" block: convolution without bias, BatchNorm, SiLU. Children are named "conv"
/// and "bn" as in YOLOv5's state dict.
public sealed class ConvBnSilu : Module, IReadsDeferred
{
    public ConvBnSilu(int inChannels, int outChannels, int kernel, int stride, Rng rng, int? padding = null,
        double bnEps = 1e-3, double bnMomentum = 0.03)
    {
        Conv = RegisterModule("conv", new Conv2d(inChannels, outChannels, kernel, stride, padding ?? kernel / 2, bias: false, rng));
        Bn = RegisterModule("bn", new BatchNorm2d(outChannels, bnEps, bnMomentum));
    }

    public Conv2d Conv { get; }
    public BatchNorm2d Bn { get; }

    /// In eval mode, fold BatchNorm into the convolution (YOLOv5's fuse_conv_and_bn, as detect.py
    /// and val.py run): w·γ/√(var + eps) and β - mean·γ/√(var + eps) as the bias, then SiLU. The
    /// folded weights are made on first use from the current parameters, on the input's device.
    public bool FuseForInference { get; set; }
    Tensor? fusedWeight, fusedBias;

    public override Tensor Forward(Tensor x)
    {
        if (!Training && FuseForInference) return FusedForward(x);
        if (TrainsFused(x)) return TrainForward(x, null);
        using var c = Conv.Forward(x);
        using var b = Bn.Forward(c);
        return b.Silu();
    }

    /// residual + this block's output (a Bottleneck's shortcut): in training's fused op the add
    /// is part of BatchNorm's pass, elsewhere a plain Add, residual first as upstream's x + cv2(·).
    public Tensor Forward(Tensor x, Tensor residual)
    {
        if (TrainsFused(x)) return TrainForward(x, residual);
        using var y = Forward(x);
        return residual + y;
    }

    /// x as the modules before left it: computed, with its BatchNorm + SiLU deferred to this
    /// block's convolution, or several parts side by side (which training's fused op reads in
    /// place; elsewhere they are computed and concatenated first).
    public Tensor Forward(DeferredActivation x)
    {
        if (!x.IsDeferred) return Forward(x.Input);
        if (TrainsFused(x.First)) return TrainForward(x, null);
        using var value = x.Computed();
        return Forward(value);
    }

    public Tensor Forward(DeferredActivation x, Tensor residual)
    {
        if (!x.IsDeferred) return Forward(x.Input, residual);
        if (TrainsFused(x.First)) return TrainForward(x, residual);
        using var value = x.Computed();
        return Forward(value, residual);
    }

    /// The output with its BatchNorm + SiLU left to the Conv block that reads it
    /// (Ops.ConvBatchNormSiluDeferred), where Defers says so; else computed.
    public DeferredActivation ForwardDeferred(Tensor x) => ForwardDeferred(DeferredActivation.Of(x));

    public DeferredActivation ForwardDeferred(DeferredActivation x)
    {
        if (!Defers(x.First)) return DeferredActivation.Owning(Forward(x));
        var w = Weight(x.First.DType);
        try { return x.ConvBatchNormSiluDeferred(w, Geometry, Bn.Weight, Bn.Bias, Bn.RunningMean, Bn.RunningVar, Bn.Momentum, Bn.Eps); }
        finally { if (!ReferenceEquals(w, Conv.Weight)) w.Dispose(); }
    }

    /// Whether this block, run on x's device in training's fused op, leaves work to its reader's
    /// loads: its own BatchNorm + SiLU (ForwardDeferred), and a concatenation before it read in
    /// place (C3, SPPF) — DefersActivation, or where that is null the backend's
    /// IBackend.ReadsDeferredBatchNormSilu.
    public bool Defers(Tensor x) => TrainsFused(x) && (DefersActivation ?? x.Backend.ReadsDeferredBatchNormSilu);

    public bool ReadsInPlace(Tensor x) => Defers(x);

    /// Defers' setting: null (the default) where the backend applies a deferred input in its
    /// convolutions' loads (a GPU's implicit GEMM), true also elsewhere (the CPU, which computes it
    /// in a pass of its own: how tests check the path), false nowhere.
    public bool? DefersActivation { get; set; }

    /// Batch statistics on one process, where the fused op runs (SyncBatchNorm takes the two-op path).
    bool TrainsFused(Tensor x) => Bn.Training && Bn.Sync is not { WorldSize: > 1 } && FusedOn(x.Device);

    Conv2dGeometry Geometry => Conv2dGeometry.Square(Conv.Stride, Conv.Padding);

    /// The float32 master weight cast to the activations' dtype inside the graph, as Conv2d does
    /// (the master itself where they match).
    Tensor Weight(DType dtype) => dtype == Conv.Weight.DType ? Conv.Weight : Conv.Weight.Cast(dtype);

    /// Training with batch statistics as one op (the convolution hands BatchNorm its sums).
    Tensor TrainForward(Tensor x, Tensor? residual) => TrainForward(DeferredActivation.Of(x), residual);

    Tensor TrainForward(DeferredActivation x, Tensor? residual)
    {
        var w = Weight(x.First.DType);
        try { return x.ConvBatchNormSilu(w, Geometry, Bn.Weight, Bn.Bias, Bn.RunningMean, Bn.RunningVar, Bn.Momentum, Bn.Eps, residual); }
        finally { if (!ReferenceEquals(w, Conv.Weight)) w.Dispose(); }
    }

    /// Where training runs the convolution, BatchNorm and SiLU as one op. CUDA's kernels are compiled in CI
    /// and sit in `yolocore doctor --check`'s parity table, but have not run on a GPU yet: until
    /// they pass there, GPUs keep the two separately verified ops unless YOLOCORE_FUSED_BN_SILU=1
    /// (the GPU script's timing of the fused step).
    static bool FusedOn(Device device) => device.IsCpu || FusedOnEveryDevice;
    public static bool FusedOnEveryDevice { get; } = Environment.GetEnvironmentVariable("YOLOCORE_FUSED_BN_SILU") == "1";

    Tensor FusedForward(Tensor x)
    {
        if (fusedWeight is null || fusedWeight.Device != x.Device) Fold(x.Device);
        using var w = fusedWeight!.DType == x.DType ? fusedWeight.Detach() : fusedWeight.Cast(x.DType);
        using var b = fusedBias!.DType == x.DType ? fusedBias.Detach() : fusedBias.Cast(x.DType);
        using var y = x.Conv2d(w, b, Conv.Stride, Conv.Padding);
        return y.Silu();
    }

    /// The folded weight and bias, computed in double from the current parameters.
    void Fold(Device device)
    {
        fusedWeight?.Dispose();
        fusedBias?.Dispose();
        var gamma = Bn.Weight.ToDoubles();
        var beta = Bn.Bias.ToDoubles();
        var mean = Bn.RunningMean.ToDoubles();
        var variance = Bn.RunningVar.ToDoubles();
        var w = Conv.Weight.ToDoubles();
        int cout = Conv.Weight.Shape[0], per = w.Length / cout;
        var bias = new double[cout];
        for (int o = 0; o < cout; o++)
        {
            double scale = gamma[o] / Math.Sqrt(variance[o] + Bn.Eps);
            for (int k = 0; k < per; k++) w[o * per + k] *= scale;
            bias[o] = beta[o] - mean[o] * scale;
        }
        fusedWeight = TensorScope.Escape(Tensor.FromDoubles(w, Conv.Weight.Shape, DType.Float32, device));
        fusedBias = TensorScope.Escape(Tensor.FromDoubles(bias, new Shape(cout), DType.Float32, device));
    }

    public override void Dispose()
    {
        fusedWeight?.Dispose();
        fusedBias?.Dispose();
        base.Dispose();
    }
}
