using YoloCore.Autograd;
using YoloCore.Diagnostics;

namespace YoloCore.Nn.Yolo;

/// YOLOv5's loss over every detection level as one fused, differentiable op: an extension op
/// whose kernels each backend provides (IYoloLoss: Cpu/Ops/YoloLoss.cs, the reference, and
/// Cuda/Ops/YoloLoss.cs over kernels/yololoss.cu). YoloLoss.Compute calls it once per step.
public static class YoloLossOp
{
    /// The loss that backward runs on (a scalar: Σ over levels of the sums [Σ (1 - IoU),
    /// Σ BCE(obj), Σ BCE(cls)] weighted by stepWeights [levels, 3]), differentiable with respect to
    /// every level's head; the items (detached, [4]: the total, then the sums weighted by weights
    /// and added over the levels); and each level's target IoUs (detached).
    public static (Tensor Total, Tensor Items, Tensor[] Iou) YoloLoss(IReadOnlyList<YoloLossLevel> levels, YoloLossTerms terms, Tensor weights, Tensor stepWeights)
    {
        if (levels.Count == 0) throw new ArgumentException("YoloLoss needs at least one level");
        var (device, backend) = (levels[0].Head.Device, levels[0].Head.Backend);
        // A float16 head (the head convolution's output under AMP, read as it is where the backend
        // can) still gets float32 sums, IoU and objectness targets.
        var dtype = levels[0].Head.DType == DType.Float16 ? DType.Float32 : levels[0].Head.DType;
        foreach (var l in levels) Check(l, terms, dtype);
        if (weights.Shape != new Shape(levels.Count, 3) || stepWeights.Shape != weights.Shape || weights.DType != dtype || stepWeights.DType != dtype)
            throw new ArgumentException($"YoloLoss: weights and step weights must be {dtype.Name()} [{levels.Count}, 3], got {weights} and {stepWeights}");
        var total = Tensor.Empty(new Shape(), dtype, device);
        var items = Tensor.Empty(new Shape(4), dtype, device);
        var iou = levels.Select(l => Tensor.Empty(new Shape((int)l.Rows.Count), dtype, device)).ToArray();
        backend.Extension<IYoloLoss>().YoloLoss(levels, terms, weights, stepWeights, iou, total, items);
        if (levels.Any(l => GradMode.ShouldRecord(l.Head))) new YoloLossNode(levels, terms, iou, stepWeights).Attach(total);
        return (total, items, iou);
    }

    static void Check(YoloLossLevel l, YoloLossTerms terms, DType dtype)
    {
        var head = l.Head;
        if (head.Rank != 2 || head.Shape[1] != terms.Classes + 5) throw new ArgumentException($"YoloLoss: head rows must be [R, {terms.Classes + 5}], got {head.Shape}");
        if ((head.DType == DType.Float16 ? DType.Float32 : head.DType) != dtype) throw new ArgumentException($"YoloLoss: every level's head must have one dtype, got {head}");
        int n = (int)l.Rows.Count;
        if (l.Box.Shape != new Shape(n, 4) || l.Anchors.Shape != new Shape(n, 2) || l.Classes.Count != n)
            throw new ArgumentException($"YoloLoss: {n} targets need box [n, 4], anchors [n, 2], classes [n]; got {l.Box.Shape}, {l.Anchors.Shape}, {l.Classes.Shape}");
        if (l.Box.DType != dtype || l.Anchors.DType != dtype) throw new ArgumentException($"YoloLoss: box and anchors must be {dtype.Name()} for a {head.DType.Name()} head, got {l.Box} and {l.Anchors}");
    }

    static Tensor F(Tensor t) => t.DType == DType.Float16 ? t.Cast(DType.Float32) : t;

    // A row's inputs per level: the head (cast to float32 first with castHead, as the loss runs in
    // float32 on GPUs), target rows, boxes, anchors, classes (and with counted the real-target
    // count); then the weights and step weights. The output is the total; withItems, the items
    // after it (detached, so only for the parity rows, which central differences do not check).
    static Func<Tensor[], Tensor> Levels(int levels, YoloLossTerms terms, bool castHead = true, bool counted = false, bool withItems = false) => x =>
    {
        int per = counted ? 6 : 5;
        var list = Enumerable.Range(0, levels).Select(l => new YoloLossLevel(castHead ? F(x[per * l]) : x[per * l], x[per * l + 1], F(x[per * l + 2]), F(x[per * l + 3]),
            x[per * l + 4], counted ? x[per * l + 5] : null)).ToList();
        var (total, items, _) = YoloLoss(list, terms, F(x[per * levels]), F(x[per * levels + 1]));
        return withItems ? Ops.Concat([total.Reshape(1), items], 0) : total;
    };

    // DIoU and gr = 0 detach nothing, so central differences see the whole gradient (CIoU's
    // detached alpha is compared with autograd in FusedLossTests).
    static readonly YoloLossTerms Plain = new(3, IouKind.DIoU, 0.95, 0.05, 1.2, 0.9, 0.0);
    static InputSpec Weights(int levels) => new([levels, 3], Gen.Positive, false);

    /// The op's rows in the op table (OpCatalog.Add at startup): gradient checks and GPU parity.
    public static readonly OpCase[] Catalog =
    [
        new("yolo loss (fused)",
            [new([12, 8]), InputSpec.Idx(3, 7, 3, 11), new([4, 4], Gen.Positive, false), new([4, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 2), Weights(1), Weights(1)],
            Levels(1, Plain)),
        // The heads as the trainer passes them under AMP: float16, read by the kernels as they are
        // (the box and anchor targets float32); the gradient comes back in float16.
        new("yolo loss (float16 head)",
            [new([12, 8]), InputSpec.Idx(3, 7, 3, 3), new([4, 4], Gen.Positive, false), new([4, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 2), Weights(1), Weights(1)],
            Levels(1, Plain, castHead: false)),
        // 600 rows: the sums over several blocks, added by the last one.
        new("yolo loss (several blocks)",
            [new([600, 8]), InputSpec.Idx(3, 590, 3, 301), new([4, 4], Gen.Positive, false), new([4, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 2), Weights(1), Weights(1)],
            Levels(1, Plain)),
        // Three levels of different sizes in one launch each way, the second without targets.
        new("yolo loss (three levels)",
            [new([300, 8]), InputSpec.Idx(3, 290, 3), new([3, 4], Gen.Positive, false), new([3, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1),
             new([40, 8]), InputSpec.Idx(), new([0, 4], Gen.Positive, false), new([0, 2], Gen.Positive, false), InputSpec.Idx(),
             new([12, 8]), InputSpec.Idx(5, 1), new([2, 4], Gen.Positive, false), new([2, 2], Gen.Positive, false), InputSpec.Idx(1, 1),
             Weights(3), Weights(3)],
            Levels(3, Plain)),
        // Fixed-capacity buffers: 3 real targets of 5 (a captured step's), the padding's rows
        // pointing at rows the real targets use too.
        new("yolo loss (padded)",
            [new([12, 8]), InputSpec.Idx(3, 7, 3, 7, 3), new([5, 4], Gen.Positive, false), new([5, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 0, 0), InputSpec.Idx(3), Weights(1), Weights(1)],
            Levels(1, Plain, counted: true)),
    ];

    /// Rows for the GPU parity table only, with what central differences cannot follow: YOLOv5's own
    /// settings (CIoU, gr = 1), whose objectness targets hold each row's last IoU detached, and the
    /// detached items.
    public static readonly OpCase[] Wide =
    [
        new("yolo loss (CIoU, gr 1)",
            [new([40, 8], Gen.Probability), InputSpec.Idx(3, 7, 3, 11, 3, 30), new([6, 4], Gen.Positive, false), new([6, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 2, 1, 0), Weights(1), Weights(1)],
            Levels(1, new YoloLossTerms(3, IouKind.CIoU, 0.95, 0.05, 1.2, 0.9, 1.0), castHead: false, withItems: true)),
        // The items beside the total, over levels with their own weights.
        new("yolo loss items (three levels)",
            [new([300, 8]), InputSpec.Idx(3, 290, 3), new([3, 4], Gen.Positive, false), new([3, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1),
             new([40, 8]), InputSpec.Idx(), new([0, 4], Gen.Positive, false), new([0, 2], Gen.Positive, false), InputSpec.Idx(),
             new([12, 8]), InputSpec.Idx(5, 1), new([2, 4], Gen.Positive, false), new([2, 2], Gen.Positive, false), InputSpec.Idx(1, 1),
             Weights(3), Weights(3)],
            Levels(3, Plain, withItems: true)),
    ];

    sealed class YoloLossNode : Node
    {
        readonly YoloLossLevel[] levels;
        readonly Tensor[] iou;
        readonly Tensor stepWeights;
        readonly YoloLossTerms terms;

        public YoloLossNode(IReadOnlyList<YoloLossLevel> levels, YoloLossTerms terms, Tensor[] iou, Tensor stepWeights) : base([.. levels.Select(l => (Tensor?)l.Head)])
        {
            this.levels = [.. levels.Select(l => new YoloLossLevel(Save(l.Head), Save(l.Rows), Save(l.Box), Save(l.Anchors), Save(l.Classes),
                l.Count is null ? null : Save(l.Count)))];
            this.iou = [.. iou.Select(Save)];
            this.stepWeights = Save(stepWeights);
            this.terms = terms;
        }

        protected override Tensor?[] Backward(Tensor gtotal)
        {
            var gheads = levels.Select(l => Tensor.Empty(l.Head.Shape, l.Head.DType, l.Head.Device)).ToArray();
            levels[0].Head.Backend.Extension<IYoloLoss>().YoloLossBackward(levels, terms, iou, stepWeights, gtotal, gheads);
            return gheads;
        }
    }
}
