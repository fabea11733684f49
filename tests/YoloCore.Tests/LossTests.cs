using YoloCore.Autograd;
using YoloCore.Nn.Yolo;

namespace YoloCore.Tests;

public class LossTests
{
    static readonly double[][] anchors = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]];

    static Detect MakeDetect(int nc) => new(nc, anchors, [4, 4, 4], [8, 16, 32], new Rng(0));

    /// Random float64 heads for a 64×64 batch, requiring grad.
    static Tensor[] Heads(int bs, int nc, ulong seed)
    {
        var rng = new Rng(seed);
        return new[] { 8, 4, 2 }.Select(g =>
        {
            var t = Tensor.Randn(new Shape(bs, 3, g, g, nc + 5), rng, dtype: DType.Float64);
            t.RequiresGrad = true;
            return t;
        }).ToArray();
    }

    public static IEnumerable<object[]> TargetSets =>
    [
        ["one image without targets", new double[] { 0, 1, 0.4, 0.6, 0.3, 0.2, 0, 0, 0.7, 0.3, 0.1, 0.25 }],
        ["targets at the image border", new double[] { 0, 2, 1.0, 0.5, 0.2, 0.3, 1, 0, 0.0, 0.0, 0.1, 0.1, 1, 1, 0.99, 1.0, 0.5, 0.02, 0, 0, 0.5, 0.5, 1.0, 1.0 }],
        ["no targets at all", Array.Empty<double>()],
    ];

    /// YOLOv5's loss is not the derivative of one function: CIoU's alpha and the objectness target
    /// (the IoU) are detached. With DIoU and gr = 0 nothing is detached, so central differences see
    /// exactly what backward computes; the detached CIoU path is checked against PyTorch by the
    /// golden conformance tests.
    [Theory]
    [MemberData(nameof(TargetSets))]
    public void LossIsFiniteAndItsGradientMatchesCentralDifferences(string what, double[] targets)
    {
        using var scope = TensorScope.Begin();
        using var detect = MakeDetect(nc: 3);
        var loss = new YoloLoss(detect, new LossHyperparameters(Box: 0.05, Cls: 0.5 * 3 / 80.0, Obj: 0.01, LabelSmoothing: 0.1, Iou: IouKind.DIoU, Gr: 0));
        var heads = Heads(bs: 2, nc: 3, seed: 5);
        var result = loss.Compute(heads, targets);
        Assert.True(double.IsFinite(result.Total.Item()), $"{what}: loss {result.Total.Item()}");
        if (targets.Length == 0) { Assert.Equal(0, result.Box); Assert.Equal(0, result.Cls); }
        else Assert.True(result.Box > 0, $"{what}: no box loss although there are targets");
        result.Total.Backward();

        // Central differences on a sample of head entries (all entries would take minutes).
        var rng = new Rng(9);
        for (int l = 0; l < heads.Length; l++)
        {
            var values = heads[l].ToDoubles();
            var grad = heads[l].Grad!.ToDoubles();
            Assert.All(grad, g => Assert.True(double.IsFinite(g)));
            var picks = Enumerable.Range(0, 25).Select(_ => rng.NextInt(values.Length)).Concat(TopIndices(grad, 10)).Distinct();
            foreach (int i in picks)
            {
                double keep = values[i];
                double Eval(double v)
                {
                    values[i] = v;
                    using var s = TensorScope.Begin();
                    using var _ = GradMode.NoGrad();
                    var hs = heads.Select((h, k) => k == l ? Tensor.FromDoubles(values, h.Shape, DType.Float64) : h.Detach()).ToArray();
                    return loss.Compute(hs, targets).Total.Item();
                }
                double numeric = (Eval(keep + 1e-6) - Eval(keep - 1e-6)) / 2e-6;
                values[i] = keep;
                Assert.True(Math.Abs(numeric - grad[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                    $"{what}: level {l} entry {i}: analytic {grad[i]:G8}, numeric {numeric:G8}");
            }
            heads[l].ZeroGrad();
        }
    }

    [Theory]
    [MemberData(nameof(TargetSets))]
    public void DefaultCIoULossIsFiniteWithFiniteGradients(string what, double[] targets)
    {
        using var scope = TensorScope.Begin();
        using var detect = MakeDetect(nc: 3);
        var heads = Heads(bs: 2, nc: 3, seed: 6);
        var result = new YoloLoss(detect, new LossHyperparameters()).Compute(heads, targets);
        Assert.True(double.IsFinite(result.Total.Item()), what);
        result.Total.Backward();
        foreach (var h in heads)
        {
            Assert.All(h.Grad!.ToDoubles(), g => Assert.True(double.IsFinite(g), what));
            h.ZeroGrad();
        }
    }

    static IEnumerable<int> TopIndices(double[] g, int n) => g.Select((v, i) => (Math.Abs(v), i)).OrderByDescending(p => p.Item1).Take(n).Select(p => p.i);

    [Fact]
    public void TargetsAreAssignedToTheirCellAndTwoNeighbours()
    {
        // One target at (0.3, 0.7) on an 8×8 grid: centre cell (2, 5); x frac .4 < .5 → left
        // neighbour (1, 5); y frac .6 ≥ .5 → lower neighbour (2, 6) through the "gyi" rule.
        var lt = TargetBuilder.Build([0, 1, 0.3, 0.7, 0.1, 0.1], na: 1, ny: 8, nx: 8, anchors: [1.0, 1.0], anchorT: 4);
        Assert.Equal([5 * 8 + 2, 5 * 8 + 1, 6 * 8 + 2], lt.Rows);
        Assert.Equal(0.4, lt.Box[0], 12);
        Assert.Equal(1.4, lt.Box[4], 12);   // offset from the left neighbour's corner
        Assert.Equal(-0.4, lt.Box[9], 12);  // offset from the lower neighbour's corner
        // Anchors whose ratio to the box exceeds anchor_t are not used.
        Assert.Empty(TargetBuilder.Build([0, 1, 0.3, 0.7, 0.9, 0.9], 1, 8, 8, [1.0, 1.0], 4).Rows);
    }

    [Fact]
    public void IouKindsMatchTheirDefinitions()
    {
        using var scope = TensorScope.Begin();
        // Box a: centre (0, 0), 2×2; box b: centre (1, 0), 2×2. Overlap 1×2 = 2, union 6.
        var a = Tensor.FromArray([0.0, 0, 2, 2], 1, 4);
        var b = Tensor.FromArray([1.0, 0, 2, 2], 1, 4);
        double iou = 2.0 / 6;
        Assert.Equal(iou, BoxIou.Compute(a, b, IouKind.Iou).Item(), 6);
        // Enclosing box 3×2 = 6: GIoU = IoU - (6 - 6)/6; DIoU: centre distance² 1 / diagonal² 13.
        Assert.Equal(iou, BoxIou.Compute(a, b, IouKind.GIoU).Item(), 6);
        Assert.Equal(iou - 1.0 / 13, BoxIou.Compute(a, b, IouKind.DIoU).Item(), 6);
        // Same aspect ratio: CIoU's v term is zero, so CIoU = DIoU.
        Assert.Equal(iou - 1.0 / 13, BoxIou.Compute(a, b, IouKind.CIoU).Item(), 6);
        // Different aspect ratios: v = 4/π²·(atan(w2/h2) - atan(w1/h1))², α = v/(v - IoU + 1).
        var c = Tensor.FromArray([1.0, 0, 2, 1], 1, 4);
        double iou2 = 1.0 / 5, v = 4 / (Math.PI * Math.PI) * Math.Pow(Math.Atan(2.0) - Math.Atan(1.0), 2), alpha = v / (v - iou2 + 1);
        Assert.Equal(iou2 - 1.0 / 13 - v * alpha, BoxIou.Compute(a, c, IouKind.CIoU).Item(), 6);
        // Disjoint boxes: GIoU is negative.
        var far = Tensor.FromArray([5.0, 0, 2, 2], 1, 4);
        Assert.Equal(0 - (14 - 8) / 14.0, BoxIou.Compute(a, far, IouKind.GIoU).Item(), 6);
    }

    [Fact]
    public void GainsAreScaledAsTheTrainerScalesThem()
    {
        var h = new LossHyperparameters(Box: 0.05, Cls: 0.5, Obj: 1.0).ForTraining(nl: 3, nc: 80, imageSize: 64);
        Assert.Equal(0.05, h.Box, 12);
        Assert.Equal(0.5, h.Cls, 12);
        Assert.Equal(0.01, h.Obj, 12);
    }
}

/// The fused loss op against the same loss written with autograd ops.
public class FusedLossTests
{
    static readonly double[][] anchors = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]];

    /// Random float64 heads [2, 3, g, g, nc + 5] for the 8, 4 and 2 grids, requiring grad.
    static Tensor[] Heads(int nc, ulong seed) => new[] { 8, 4, 2 }.Select(g =>
    {
        var t = Tensor.Randn(new Shape(2, 3, g, g, nc + 5), new Rng((ulong)g + seed), dtype: DType.Float64);
        t.RequiresGrad = true;
        return t;
    }).ToArray();

    static void AssertSameItems(LossResult expected, LossResult actual, int totalDigits, int itemDigits)
    {
        Assert.Equal(expected.Total.Item(), actual.Total.Item(), totalDigits);
        Assert.Equal(expected.Box, actual.Box, itemDigits);
        Assert.Equal(expected.Obj, actual.Obj, itemDigits);
        Assert.Equal(expected.Cls, actual.Cls, itemDigits);
    }

    [Theory]
    [InlineData(IouKind.CIoU, 3, 0.0, 1.0, 1.0, 1.0)]
    [InlineData(IouKind.CIoU, 3, 0.1, 1.3, 0.8, 0.5)]
    [InlineData(IouKind.DIoU, 3, 0.0, 1.0, 1.0, 1.0)]
    [InlineData(IouKind.GIoU, 2, 0.2, 1.0, 1.5, 0.0)]
    [InlineData(IouKind.Iou, 4, 0.0, 0.7, 1.0, 1.0)]
    [InlineData(IouKind.CIoU, 1, 0.0, 1.0, 1.0, 1.0)]
    public void FusedMatchesTheCompositeLossAndItsGradient(IouKind kind, int nc, double smoothing, double clsPw, double objPw, double gr)
    {
        using var scope = TensorScope.Begin();
        using var detect = new Detect(nc, anchors, [4, 4, 4], [8, 16, 32], new Rng(0));
        var hyp = new LossHyperparameters(Box: 0.05, Cls: 0.3, Obj: 0.7, ClsPw: clsPw, ObjPw: objPw, LabelSmoothing: smoothing, Iou: kind, Gr: gr);
        var loss = new YoloLoss(detect, hyp);
        double[] targets = [0, 0, 0.3, 0.7, 0.2, 0.3, 0, nc - 1, 0.5, 0.5, 0.5, 0.4, 1, 0, 1.0, 0.0, 0.1, 0.1, 1, nc - 1, 0.62, 0.41, 0.05, 0.9];
        var fusedHeads = Heads(nc, 0);
        var compositeHeads = Heads(nc, 0);
        var fused = loss.Compute(fusedHeads, targets);
        var composite = loss.ComputeComposite(compositeHeads, targets);
        AssertSameItems(composite, fused, 10, 10);
        fused.Total.Backward();
        composite.Total.Backward();
        for (int l = 0; l < 3; l++)
        {
            double err = GradientCheckTests.RelativeError(fusedHeads[l].Grad!.ToDoubles(), compositeHeads[l].Grad!.ToDoubles());
            Assert.True(err <= 1e-9, $"level {l}: fused gradient differs from autograd's by {err:E2}");
            fusedHeads[l].ZeroGrad();
            compositeHeads[l].ZeroGrad();
        }
    }

    /// The trainer hands the loss the head convolutions' outputs as they are, [B, ny, nx, na·no]
    /// (anchors last: no permute), with the targets' rows numbered for that layout: the same loss,
    /// items and gradients as on the permuted heads.
    [Fact]
    public void TheLossReadsHeadsWithTheAnchorsLast()
    {
        using var scope = TensorScope.Begin();
        int nc = 3, no = nc + 5;
        using var detect = new Detect(nc, anchors, [4, 4, 4], [8, 16, 32], new Rng(0));
        var loss = new YoloLoss(detect, new LossHyperparameters(Box: 0.05, Cls: 0.3, Obj: 0.7, LabelSmoothing: 0.1));
        // Two targets in one cell and anchor (the last wins objectness), one at the border.
        double[] targets = [0, 0, 0.3, 0.7, 0.2, 0.3, 0, 2, 0.3, 0.7, 0.2, 0.3, 1, 1, 1.0, 0.0, 0.1, 0.1, 1, 0, 0.62, 0.41, 0.05, 0.9];
        var permuted = Heads(nc, 3);
        var last = permuted.Select(h =>
        {
            var t = h.Detach().Permute(0, 2, 3, 1, 4).Reshape(2, h.Shape[2], h.Shape[3], 3 * no);
            t.RequiresGrad = true;
            return t;
        }).ToArray();
        var a = loss.Compute(permuted, targets);
        var b = loss.Compute(last, targets);
        AssertSameItems(a, b, 12, 14); // the objectness sum runs over the rows in the other order: equal up to rounding
        a.Total.Backward();
        b.Total.Backward();
        for (int l = 0; l < 3; l++)
        {
            var expected = permuted[l].Grad!.Permute(0, 2, 3, 1, 4).ToDoubles();
            double err = GradientCheckTests.RelativeError(last[l].Grad!.ToDoubles(), expected);
            Assert.True(err <= 1e-12, $"level {l}: the anchors-last gradient differs by {err:E2}");
        }
    }
}
