namespace YoloCore.Diagnostics;

/// How an op case's input values are drawn. Non-smooth ops get inputs away from their kinks so that
/// central differences are meaningful. Distinct: no two values of a channel (the last axis) equal,
/// in float16 too (a shuffled ramp in steps of 1/16), so a max-pool has no ties to break
/// differently from the float32 reference (normal values rounded to float16 do tie).
public enum Gen { Normal, Positive, AwayFromZero, Probability, Index, Distinct }

/// KeepFloat32: a parameter that stays float32 when the activations are float16 (BatchNorm's, a master weight).
public sealed record InputSpec(int[] Shape, Gen Kind = Gen.Normal, bool Grad = true, int[]? Indices = null, bool KeepFloat32 = false)
{
    public static InputSpec Idx(params int[] values) => new([values.Length], Gen.Index, false, values);
}

/// One differentiable op with small, awkward inputs (odd sizes, stride 2, padding, broadcasting):
/// the gradient checks run it in float64, and the GPU parity check runs it on a device against
/// the CPU.
public sealed record OpCase(string Name, InputSpec[] Inputs, Func<Tensor[], Tensor> Apply)
{
    public override string ToString() => Name;

    /// Input values, drawn in float32-representable form so float32 and float64 runs see equal inputs.
    public double[][] DrawValues(ulong seed)
    {
        var rng = new Rng(seed);
        return Inputs.Select(spec =>
        {
            if (spec.Kind == Gen.Index) return spec.Indices!.Select(i => (double)i).ToArray();
            if (spec.Kind == Gen.Distinct) return DistinctPerChannel(rng, spec.Shape);
            var v = new double[new Shape(spec.Shape).Count];
            for (int i = 0; i < v.Length; i++)
            {
                double r = spec.Kind switch
                {
                    Gen.Normal => rng.Normal(),
                    Gen.Positive => 0.5 + 1.5 * rng.NextDouble(),
                    Gen.AwayFromZero => (rng.NextDouble() < 0.5 ? -1 : 1) * (0.3 + rng.NextDouble()),
                    Gen.Probability => rng.NextDouble(),
                    _ => throw new InvalidOperationException(),
                };
                v[i] = (float)r;
            }
            return v;
        }).ToArray();
    }

    /// Per channel a shuffled ramp (k - rows/2)/16, k = 0..rows-1: exact in float16 below 2048 rows.
    static double[] DistinctPerChannel(Rng rng, int[] shape)
    {
        int channels = shape[^1], rows = (int)(new Shape(shape).Count / channels);
        if (rows > 2048) throw new ArgumentException($"Gen.Distinct takes at most 2048 values per channel (float16's integers), not {rows}");
        var v = new double[rows * channels];
        var ramp = new int[rows];
        for (int c = 0; c < channels; c++)
        {
            for (int k = 0; k < rows; k++) ramp[k] = k;
            for (int k = rows - 1; k > 0; k--) { int j = rng.NextInt(k + 1); (ramp[k], ramp[j]) = (ramp[j], ramp[k]); }
            for (int r = 0; r < rows; r++) v[r * channels + c] = (ramp[r] - rows / 2) / 16.0;
        }
        return v;
    }

    public Tensor[] Build(double[][] values, DType dtype, Device? device = null) => Inputs.Select((spec, i) =>
    {
        if (spec.Kind == Gen.Index) return Tensor.FromArray<int>(values[i].Select(v => (int)v).ToArray(), new Shape(spec.Shape), device);
        var t = Tensor.FromDoubles(values[i], new Shape(spec.Shape), spec.KeepFloat32 && dtype == DType.Float16 ? DType.Float32 : dtype, device);
        t.RequiresGrad = spec.Grad;
        return t;
    }).ToArray();
}

/// Every differentiable op of the engine, each with inputs chosen to exercise it.
public static class OpCatalog
{
    static InputSpec N(params int[] s) => new(s);
    static InputSpec P(params int[] s) => new(s, Gen.Positive);
    static InputSpec Away(params int[] s) => new(s, Gen.AwayFromZero);
    static InputSpec Distinct(params int[] s) => new(s, Gen.Distinct);
    static InputSpec BnP(params int[] s) => new(s, Gen.Positive, KeepFloat32: true);
    static InputSpec BnN(params int[] s) => new(s, KeepFloat32: true);
    static InputSpec Master(params int[] s) => new(s, KeepFloat32: true);
    static InputSpec NoGrad(params int[] s) => new(s, Grad: false);

    // Conv of x[0] with a float32 master weight x[1] (and bias x[2]) cast to x[0]'s dtype, as
    // mixed precision runs it: the weight gradient comes out in float32.
    static Tensor ConvMaster(Tensor[] x, int stride, int pad) =>
        x[0].Conv2d(x[1].Cast(x[0].DType), x.Length > 2 ? x[2].Cast(x[0].DType) : null, stride, pad);

    // BatchNorm of x[0] with weight x[1] and bias x[2]: fresh running statistics in training
    // (mean 0, variance 1), fixed ones in eval, shaped like the weight x[weight].
    static Tensor Stat(Tensor[] x, double value, int weight = 1) => Tensor.Full(x[weight].Shape, value, x[weight].DType, x[0].Device);
    static Tensor BnTrain(Tensor[] x) => x[0].BatchNorm2d(x[1], x[2], Stat(x, 0), Stat(x, 1), true, 0.03, 1e-3);
    static Tensor BnSiluTrain(Tensor[] x) => x[0].BatchNormSilu(x[1], x[2], Stat(x, 0), Stat(x, 1), 0.03, 1e-3);
    // Conv (no bias) then BatchNorm + SiLU with the convolution's batch sums: x[0] input, x[1] weight, x[2], x[3] γ, β.
    static Func<Tensor[], Tensor> ConvBnSilu(int stride, int pad) => x => x[0].ConvBatchNormSilu(x[1], Conv2dGeometry.Square(stride, pad),
        x[2], x[3], Stat(x, 0, weight: 2), Stat(x, 1, weight: 2), 0.03, 1e-3);
    // The same with a float32 master weight x[1] cast to x[0]'s dtype (mixed precision's).
    static Func<Tensor[], Tensor> ConvBnSiluMaster(int stride, int pad) => x => x[0].ConvBatchNormSilu(x[1].Cast(x[0].DType), Conv2dGeometry.Square(stride, pad),
        x[2], x[3], Stat(x, 0, weight: 2), Stat(x, 1, weight: 2), 0.03, 1e-3);
    // The same with a Bottleneck's shortcut x[4] added in BatchNorm's pass.
    static Func<Tensor[], Tensor> ConvBnSiluAdd(int pad) => x => x[0].ConvBatchNormSilu(x[1], Conv2dGeometry.Square(1, pad),
        x[2], x[3], Stat(x, 0, weight: 2), Stat(x, 1, weight: 2), 0.03, 1e-3, residual: x[4]);
    // Conv blocks in a chain, each but the last leaving its BatchNorm + SiLU to the next one's
    // convolution (DeferredActivation): block i has weight x[1 + 3i] (cast to x[0]'s dtype:
    // a master), γ x[2 + 3i], β x[3 + 3i]; the strides and paddings are the blocks'; residual
    // (x[^1] where set) is added to the last one's output, as a Bottleneck's cv2 does. With
    // statistics the result also holds the batch statistics the deferred blocks' running ones took.
    static Func<Tensor[], Tensor> DeferredChain((int Stride, int Pad)[] blocks, bool residual = false, bool statistics = false) => x =>
    {
        Conv2dGeometry G(int i) => Conv2dGeometry.Square(blocks[i].Stride, blocks[i].Pad);
        Tensor W(int i) => x[1 + 3 * i].Cast(x[0].DType);
        var running = new List<Tensor>();
        var h = DeferredActivation.Of(x[0]);
        for (int i = 0; i + 1 < blocks.Length; i++)
        {
            var (mean, variance) = (Stat(x, 0, weight: 2 + 3 * i), Stat(x, 1, weight: 2 + 3 * i));
            var next = h.ConvBatchNormSiluDeferred(W(i), G(i), x[2 + 3 * i], x[3 + 3 * i], mean, variance, 0.03, 1e-3);
            running.AddRange([mean, variance]);
            h.Dispose();
            h = next;
        }
        int last = blocks.Length - 1;
        Tensor y;
        using (h)
            y = h.ConvBatchNormSilu(W(last), G(last), x[2 + 3 * last], x[3 + 3 * last], Stat(x, 0, weight: 2 + 3 * last), Stat(x, 1, weight: 2 + 3 * last),
                0.03, 1e-3, residual ? x[^1] : null);
        if (!statistics) return y;
        // From momentum 0.03 and a start at (0, 1): the batch's mean and unbiased variance, weighted
        // so that they, not y, count in the comparison, the means (near 0) most.
        var batch = running.Select((r, i) => i % 2 == 0 ? r * (1000 / 0.03) : (r - 0.97) * (100 / 0.03)).Select(r => r.Cast(y.DType));
        return Ops.Concat([y.Reshape(-1), .. batch], 0);
    };

    // A Conv block reading a concatenation in place: x[0] (computed), the Conv block over x[0]
    // (weight x[1], γ x[2], β x[3], 1×1) deferred, then x[4..] computed, side by side; the reader
    // has weight x[^3], γ x[^2], β x[^1], its stride and padding. x[0]'s gradient comes from two
    // consumers (the part and the block), so the second adds into the first's.
    // With later, x[0] also has a consumer recorded after the reader, whose gradient the reader's
    // input gradient then adds to (OutParts' add).
    static Func<Tensor[], Tensor> PartsReader(int extra, int stride, int pad, bool later = false) => x =>
    {
        var x0 = later ? x[0] * 1.0 : x[0]; // a produced tensor: its gradient is added into, a leaf's is not
        var d = x0.ConvBatchNormSiluDeferred(x[1].Cast(x[0].DType), Conv2dGeometry.Square(1, 0), x[2], x[3], Stat(x, 0, weight: 2), Stat(x, 1, weight: 2), 0.03, 1e-3);
        using var joined = DeferredActivation.Concat([DeferredActivation.Of(x0), d, .. x.Skip(4).Take(extra).Select(DeferredActivation.Of)]);
        int r = x.Length - 3;
        var y = joined.ConvBatchNormSilu(x[r].Cast(x[0].DType), Conv2dGeometry.Square(stride, pad), x[r + 1], x[r + 2], Stat(x, 0, weight: r + 1), Stat(x, 1, weight: r + 1), 0.03, 1e-3);
        return later ? y + (x0 * 0.5).Sum() : y;
    };

    static Tensor BnEval(Tensor[] x) => x[0].BatchNorm2d(x[1], x[2], Stat(x, 0.2), Stat(x, 1.7), false, 0.03, 1e-3);

    /// Every op's cases: Core's below, then those of extension ops in higher layers (the YOLO
    /// loss in Nn), which the program adds at startup beside its backends (Add).
    public static IReadOnlyList<OpCase> All
    {
        get { lock (added) return [.. core, .. added]; }
    }

    static readonly List<OpCase> added = [], addedWide = [];

    /// Adds the cases of an op defined above Core (once; a case already in the table is skipped),
    /// and its wide ones (see Wide).
    public static void Add(IEnumerable<OpCase> cases, IEnumerable<OpCase>? wide = null)
    {
        lock (added)
        {
            foreach (var c in cases)
                if (!core.Contains(c) && !added.Contains(c)) added.Add(c);
            foreach (var c in wide ?? [])
                if (!wideCore.Contains(c) && !addedWide.Contains(c)) addedWide.Add(c);
        }
    }

    static readonly OpCase[] core =
    [
        new("conv k3 s1 p1 bias", [N(2, 7, 6, 3), N(4, 3, 3, 3), N(4)], x => x[0].Conv2d(x[1], x[2], 1, 1)),
        new("conv k3 s2 p1 odd", [N(1, 9, 7, 5), N(3, 3, 3, 5)], x => x[0].Conv2d(x[1], null, 2, 1)),
        new("conv k1 (one GEMM)", [N(2, 5, 5, 6), N(4, 1, 1, 6)], x => x[0].Conv2d(x[1])),
        new("conv k6 s2 p2 (stem)", [N(1, 10, 10, 3), N(2, 6, 6, 3)], x => x[0].Conv2d(x[1], null, 2, 2)),
        new("conv k1x3 s1 p0", [N(2, 4, 6, 4), N(2, 1, 3, 4), N(2)], x => x[0].Conv2d(x[1], x[2], new Conv2dGeometry(1, 1, 0, 0))),
        new("conv k3 s2 p0 even", [N(1, 8, 8, 2), N(3, 3, 3, 2)], x => x[0].Conv2d(x[1], null, 2, 0)),
        new("conv k3 master weight and bias", [N(2, 7, 6, 3), Master(4, 3, 3, 3), Master(4)], x => ConvMaster(x, 1, 1)),
        new("conv k1 master weight", [N(2, 5, 5, 6), Master(4, 1, 1, 6)], x => ConvMaster(x, 1, 0)),
        new("batchnorm train", [N(2, 3, 4, 5), BnP(5), BnN(5)], BnTrain),
        new("batchnorm+silu train", [N(2, 3, 4, 5), BnP(5), BnN(5)], BnSiluTrain),
        new("batchnorm eval", [N(2, 3, 3, 4), BnP(4), BnN(4)], BnEval),
        new("conv+batchnorm+silu train", [N(2, 5, 6, 3), N(4, 3, 3, 3), BnP(4), BnN(4)], ConvBnSilu(1, 1)),
        new("conv+batchnorm+silu train s2", [N(2, 7, 6, 4), N(6, 3, 3, 4), BnP(6), BnN(6)], ConvBnSilu(2, 1)),
        new("conv+batchnorm+silu+shortcut train", [N(2, 5, 6, 4), N(4, 3, 3, 4), BnP(4), BnN(4), N(2, 5, 6, 4)], ConvBnSiluAdd(1)),
        new("conv+batchnorm+silu over parts (one deferred)", [N(2, 5, 6, 8), Master(8, 1, 1, 8), BnP(8), BnN(8), N(2, 5, 6, 16), Master(12, 1, 1, 32), BnP(12), BnN(12)],
            PartsReader(1, 1, 0)),
        new("conv+batchnorm+silu deferred into k3", [N(2, 5, 6, 8), Master(8, 1, 1, 8), BnP(8), BnN(8), Master(8, 3, 3, 8), BnP(8), BnN(8)],
            DeferredChain([(1, 0), (1, 1)])),
        new("silu", [N(3, 17)], x => x[0].Silu()),
        new("sigmoid", [N(3, 17)], x => x[0].Sigmoid()),
        new("exp", [N(2, 9)], x => x[0].Exp()),
        new("log", [P(2, 9)], x => x[0].Log()),
        new("sqrt", [P(2, 9)], x => x[0].Sqrt()),
        new("square", [N(2, 9)], x => x[0].Square()),
        new("abs", [Away(2, 9)], x => x[0].Abs()),
        new("atan", [N(2, 9)], x => x[0].Atan()),
        new("neg", [N(2, 9)], x => -x[0]),
        new("affine", [N(2, 9)], x => x[0] * 1.7 - 0.3),
        new("pow scalar", [P(2, 9)], x => x[0].Pow(2.5)),
        new("pow 2 of any sign", [N(2, 9)], x => x[0].Pow(2)),
        new("clamp", [Away(4, 9)], x => x[0].Clamp(-0.8, 0.9)),
        new("add broadcast", [N(2, 3, 4), N(3, 1)], x => x[0] + x[1]),
        new("sub broadcast", [N(4), N(2, 3, 4)], x => x[0] - x[1]),
        new("mul broadcast", [N(2, 3, 4), N(2, 1, 4)], x => x[0] * x[1]),
        new("div broadcast", [N(2, 3, 4), Away(3, 4)], x => x[0] / x[1]),
        new("pow tensor", [P(3, 4), N(3, 4)], x => x[0].Pow(x[1])),
        new("minimum", [N(3, 5), N(3, 5)], x => x[0].Minimum(x[1])),
        new("maximum broadcast", [N(3, 5), N(5)], x => x[0].Maximum(x[1])),
        new("maxpool k5 s1 p2 (SPPF)", [N(2, 6, 6, 3)], x => x[0].MaxPool2d(5, 1, 2)),
        new("maxpool k3 s2 p1", [N(1, 7, 7, 2)], x => x[0].MaxPool2d(3, 2, 1)),
        new("upsample nearest x2", [N(2, 3, 4, 3)], x => x[0].UpsampleNearest(2)),
        new("concat channels", [N(2, 3, 3, 2), N(2, 3, 3, 3)], x => Ops.Concat([x[0], x[1]], -1)),
        new("concat axis 1", [N(2, 2, 3), N(2, 4, 3), N(2, 1, 3)], x => Ops.Concat([x[0], x[1], x[2]], 1)),
        // More pieces than one CUDA launch takes (8), of uneven widths.
        new("concat 9 pieces", [.. Enumerable.Range(1, 9).Select(i => N(2, i % 3 + 1, 3))], x => Ops.Concat([.. x], 1)),
        new("slice", [N(2, 3, 7)], x => x[0].Slice(-1, 2, 4)),
        new("split then mul", [N(3, 6)], x => { var s = x[0].Split(1, 2, 4); return s[0].Sum(1, true) * s[1]; }),
        new("permute", [N(2, 3, 4, 5)], x => x[0].Permute(0, 3, 1, 2)),
        new("reshape", [N(2, 3, 4)], x => x[0].Reshape(4, -1) * x[0].Reshape(4, 6)),
        new("sum", [N(3, 4)], x => x[0].Sum()),
        new("mean", [N(3, 4)], x => x[0].Mean()),
        new("sum axis", [N(3, 4, 2)], x => x[0].Sum(1)),
        new("mean axis keepdim", [N(3, 4, 2)], x => x[0].Mean(0, keepDim: true)),
        new("broadcast to", [N(3, 1)], x => x[0].BroadcastTo(new Shape(2, 3, 4))),
        new("bce with logits", [N(3, 7), new InputSpec([3, 7], Gen.Probability)], x => x[0].BceWithLogits(x[1], posWeight: 1.5)),
        new("index select", [N(6, 4), InputSpec.Idx(0, 2, 2, 5)], x => x[0].IndexSelect(x[1])),
        new("index add", [N(5, 3), InputSpec.Idx(4, 0, 4, 1), N(4, 3)], x => x[0].IndexAdd(x[1], x[2])),
        new("index copy", [N(5, 3), InputSpec.Idx(3, 0, 1), N(3, 3)], x => x[0].IndexCopy(x[1], x[2])),
        new("index copy repeated", [N(5, 3), InputSpec.Idx(3, 0, 3), N(3, 3)], x => x[0].IndexCopy(x[1], x[2])),
        new("matmul", [N(3, 4), N(4, 5)], x => x[0].MatMul(x[1])),
        new("matmul aT", [N(4, 3), N(4, 5)], x => x[0].MatMul(x[1], transA: true)),
        new("matmul bT", [N(3, 4), N(5, 4)], x => x[0].MatMul(x[1], transB: true)),
        new("matmul aT bT", [N(4, 3), N(5, 4)], x => x[0].MatMul(x[1], true, true)),
    ];

    /// Cases wide enough to take the CPU's fast paths (tiled convolution, blocked GEMM, chunked
    /// BatchNorm passes, whole vectors with a tail), for comparing its tiers; too big for central
    /// differences, so the gradient checks leave them out (as they do cases whose gradient
    /// detaches something on purpose).
    public static IReadOnlyList<OpCase> Wide
    {
        get { lock (added) return [.. wideCore, .. addedWide]; }
    }

    static readonly OpCase[] wideCore =
    [
        new("wide conv k3 s1 p1 bias", [N(4, 12, 12, 16), N(24, 3, 3, 16), N(24)], x => x[0].Conv2d(x[1], x[2], 1, 1)),
        new("wide conv k3 s2 p1", [N(4, 13, 11, 20), N(12, 3, 3, 20)], x => x[0].Conv2d(x[1], null, 2, 1)),
        new("wide conv k1", [N(2, 10, 10, 32), N(48, 1, 1, 32)], x => x[0].Conv2d(x[1])),
        // An odd number of output channels with a bias, as the Detect heads' 255: the implicit
        // forward stores it a half at a time and adds the bias in its epilogue.
        new("wide conv k1 bias c21 (odd channels)", [N(2, 10, 10, 32), N(21, 1, 1, 32), N(21)], x => x[0].Conv2d(x[1], x[2])),
        new("wide sum (several blocks)", [N(9000)], x => x[0].Sum()), // more than one block's 4096: partials, then the last block adds them
        // Channels in runs of 8: what the GPU's implicit-GEMM convolution takes (M, N and K tails, stride 2, batch 1 and 64).
        new("wide conv k3 s2 p1 c32", [N(3, 13, 11, 32), N(40, 3, 3, 32)], x => x[0].Conv2d(x[1], null, 2, 1)),
        new("wide conv k3 c8 (K tail)", [N(2, 9, 9, 8), N(8, 3, 3, 8)], x => x[0].Conv2d(x[1], null, 1, 1)),
        new("wide conv k3 c136 (input gradient's column tail)", [N(1, 6, 6, 136), N(16, 3, 3, 136)], x => x[0].Conv2d(x[1], null, 1, 1)),
        new("wide conv k3 batch 1", [N(1, 20, 20, 64), N(128, 3, 3, 64)], x => x[0].Conv2d(x[1], null, 1, 1)),
        new("wide conv k3 batch 64", [N(64, 6, 6, 16), N(32, 3, 3, 16)], x => x[0].Conv2d(x[1], null, 1, 1)),
        new("wide conv k6 s2 p2 (stem)", [N(2, 32, 32, 3), N(16, 6, 6, 3)], x => x[0].Conv2d(x[1], null, 2, 2)),
        // Strided input gradients per phase of the stride (InputGradientPhase): 6×6 / 2 with 8 channels, 1×1 / 2 (phases no tap reaches).
        new("wide conv k6 s2 p2 c8", [N(2, 16, 14, 8), N(16, 6, 6, 8)], x => x[0].Conv2d(x[1], null, 2, 2)),
        new("wide conv k1 s2 c8", [N(2, 9, 7, 8), N(16, 1, 1, 8)], x => x[0].Conv2d(x[1], null, 2, 0)),
        new("wide conv k3 s2 master weight", [N(2, 9, 9, 16), Master(16, 3, 3, 16)], x => ConvMaster(x, 2, 1)),
        new("wide conv stem master weight", [N(2, 32, 32, 3), Master(16, 6, 6, 3)], x => ConvMaster(x, 2, 2)),
        new("wide batchnorm train", [N(4, 16, 16, 37), BnP(37), BnN(37)], BnTrain),
        new("wide batchnorm+silu train", [N(4, 16, 16, 37), BnP(37), BnN(37)], BnSiluTrain),
        new("wide batchnorm eval", [N(2, 16, 16, 37), BnP(37), BnN(37)], BnEval),
        // BatchNorm's batch sums from the convolution: the implicit GEMM's epilogue on a GPU (several
        // row blocks with a tail, two column tiles, stride 2, batch 64, the padded stem); backward,
        // BatchNorm's input gradient computed in the convolution's loads (both gradients in one
        // launch, or the weight gradient alone where the input needs none, as the stem's images).
        new("wide conv+batchnorm+silu k3", [N(2, 9, 9, 8), N(16, 3, 3, 8), BnP(16), BnN(16)], ConvBnSilu(1, 1)),
        new("wide conv+batchnorm+silu k3 s2 batch 64", [N(64, 5, 5, 16), N(24, 3, 3, 16), BnP(24), BnN(24)], ConvBnSilu(2, 1)),
        new("wide conv+batchnorm+silu 136 channels", [N(1, 12, 12, 8), N(136, 3, 3, 8), BnP(136), BnN(136)], ConvBnSilu(1, 1)),
        new("wide conv+batchnorm+silu stem", [N(2, 32, 32, 3), N(16, 6, 6, 3), BnP(16), BnN(16)], ConvBnSilu(2, 2)),
        new("wide conv+batchnorm+silu k1", [N(2, 10, 10, 32), N(48, 1, 1, 32), BnP(48), BnN(48)], ConvBnSilu(1, 0)),
        // 25 row blocks: the epilogue's sums in two levels, groups of 16 and 9 (EpilogueSums).
        new("wide conv+batchnorm+silu 25 row blocks", [N(2, 40, 40, 8), N(16, 3, 3, 8), BnP(16), BnN(16)], ConvBnSilu(1, 1)),
        new("wide conv+batchnorm+silu stem, images without gradient", [NoGrad(2, 32, 32, 3), Master(16, 6, 6, 3), BnP(16), BnN(16)], ConvBnSiluMaster(2, 2)),
        new("wide conv+batchnorm+silu k3, input without gradient", [NoGrad(2, 9, 9, 16), Master(16, 3, 3, 16), BnP(16), BnN(16)], ConvBnSiluMaster(1, 1)),
        new("wide conv+batchnorm+silu k1 master weight", [N(2, 10, 10, 32), Master(48, 1, 1, 32), BnP(48), BnN(48)], ConvBnSiluMaster(1, 0)),
        new("wide conv+batchnorm+silu+shortcut k3", [N(2, 9, 9, 16), N(16, 3, 3, 16), BnP(16), BnN(16), N(2, 9, 9, 16)], ConvBnSiluAdd(1)),
        // A deferred BatchNorm + SiLU applied in the next convolution's loads, forward and weight
        // gradient: into a 3×3 (a Bottleneck's cv1 → cv2, with and without its shortcut), into a
        // stride-2 one at batch 64, and a block that reads one deferred and defers its own (both
        // a map and BnGrad in its backward's loads).
        new("wide conv+batchnorm+silu deferred k1 into k3", [N(2, 9, 9, 16), Master(16, 1, 1, 16), BnP(16), BnN(16), Master(24, 3, 3, 16), BnP(24), BnN(24)],
            DeferredChain([(1, 0), (1, 1)])),
        new("wide conv+batchnorm+silu deferred into k3+shortcut", [N(2, 9, 9, 16), Master(16, 1, 1, 16), BnP(16), BnN(16), Master(16, 3, 3, 16), BnP(16), BnN(16), N(2, 9, 9, 16)],
            DeferredChain([(1, 0), (1, 1)], residual: true)),
        new("wide conv+batchnorm+silu deferred into k3 s2 batch 64", [N(64, 5, 5, 8), Master(16, 3, 3, 8), BnP(16), BnN(16), Master(24, 3, 3, 16), BnP(24), BnN(24)],
            DeferredChain([(1, 1), (2, 1)])),
        // A concatenation read in place (C3's cv3, SPPF's cv2, the head's Concat into a C3): four
        // parts into a 1×1, one of them deferred; two into a 3×3 stride 2 at batch 64.
        new("wide conv+batchnorm+silu over 4 parts k1", [N(2, 9, 9, 16), Master(24, 1, 1, 16), BnP(24), BnN(24), N(2, 9, 9, 8), N(2, 9, 9, 32),
            Master(40, 1, 1, 80), BnP(40), BnN(40)], PartsReader(2, 1, 0)),
        new("wide conv+batchnorm+silu over parts, a part's gradient added to", [N(2, 9, 9, 16), Master(24, 1, 1, 16), BnP(24), BnN(24), N(2, 9, 9, 8),
            Master(16, 1, 1, 48), BnP(16), BnN(16)], PartsReader(1, 1, 0, later: true)),
        new("wide conv+batchnorm+silu over parts k3 s2 batch 64", [N(64, 5, 5, 8), Master(16, 1, 1, 8), BnP(16), BnN(16), Master(24, 3, 3, 24), BnP(24), BnN(24)],
            PartsReader(0, 2, 1)),
        new("wide conv+batchnorm+silu deferred, running statistics", [N(2, 9, 9, 16), Master(24, 1, 1, 16), BnP(24), BnN(24), Master(16, 3, 3, 24), BnP(16), BnN(16)],
            DeferredChain([(1, 0), (1, 1)], statistics: true)),
        new("wide conv+batchnorm+silu deferred twice", [N(2, 10, 10, 32), Master(40, 3, 3, 32), BnP(40), BnN(40), Master(16, 1, 1, 40), BnP(16), BnN(16), Master(48, 1, 1, 16), BnP(48), BnN(48)],
            DeferredChain([(2, 1), (1, 0), (1, 0)])),
        new("wide maxpool k5 s1 p2 (SPPF)", [Distinct(2, 9, 9, 40)], x => x[0].MaxPool2d(5, 1, 2)),
        new("wide silu", [N(37, 1001)], x => x[0].Silu()),
        new("wide sigmoid", [N(37, 1001)], x => x[0].Sigmoid()),
        new("wide exp", [N(37, 1001)], x => x[0].Exp()),
        new("wide affine", [N(37, 1001)], x => x[0] * 1.7 - 0.3),
        new("wide reuse (gradients accumulate)", [N(37, 1001)], x => x[0] * x[0] + x[0]),
        // h's gradient from three convolutions: a 1×1's GEMM adds into what the others gave (β = 1), the 3×3 adds its own.
        new("wide conv reuse (gradients add)", [N(2, 5, 5, 16), N(24, 1, 1, 16), N(24, 3, 3, 16)], x =>
        {
            var h = x[0] * 1.5;
            return h.Conv2d(x[2], null, 1, 1) + h.Conv2d(x[1]) + h.Conv2d(x[1]) * 0.5;
        }),
        // 72 input channels: several input-gradient tiles to time, which must not add more than once.
        new("wide conv reuse c72 (gradients add, tiles timed)", [N(2, 5, 5, 72), N(24, 1, 1, 72), N(24, 3, 3, 72)], x =>
        {
            var h = x[0] * 1.5;
            return h.Conv2d(x[2], null, 1, 1) + h.Conv2d(x[1]) + h.Conv2d(x[1]) * 0.5;
        }),
        // h's gradient from a product, two upsamples and two max-pools: each adds into what came before it.
        new("wide pool and upsample reuse (gradients add)", [Distinct(2, 6, 6, 8)], x =>
        {
            var h = x[0] * 1.5;
            return h * h + h.UpsampleNearest(2).MaxPool2d(2, 2, 0) + h.MaxPool2d(5, 1, 2) + h.MaxPool2d(3, 1, 1) + h.UpsampleNearest(2).MaxPool2d(2, 2, 0) * 0.5;
        }),
        new("wide matmul", [N(96, 130), N(130, 70)], x => x[0].MatMul(x[1])),
        new("wide matmul aT bT", [N(130, 96), N(70, 130)], x => x[0].MatMul(x[1], true, true)),
    ];

    public static OpCase Get(string name) => All.Concat(Wide).Single(c => c.Name == name);
}
