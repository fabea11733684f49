using YoloCore.Autograd;
using YoloCore.Diagnostics;

namespace YoloCore.Nn.Yolo;

/// YOLOv5's loss for one detection level as one fused, differentiable op: an extension op whose
/// kernels each backend provides (IYoloLossLevel: Cpu/Ops/YoloLossLevel.cs, the reference, and
/// Cuda/Ops/YoloLossLevel.cs over kernels/yololosslevel.cu). YoloLoss calls it once per level.
public static class YoloLossLevelOp
{
    /// The three sums [Σ (1 - IoU), Σ BCE(obj), Σ BCE(cls)] (see IYoloLossLevel), differentiable
    /// with respect to the head, and each target's IoU (detached). count (an int32 scalar on the
    /// device) says how many of the targets are real when the buffers have a fixed capacity.
    public static (Tensor Sums, Tensor Iou) YoloLossLevel(this Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, YoloLossTerms terms, Tensor? count = null)
    {
        if (head.Rank != 2 || head.Shape[1] != terms.Classes + 5) throw new ArgumentException($"YoloLossLevel: head rows must be [R, {terms.Classes + 5}], got {head.Shape}");
        int n = (int)rows.Count;
        if (tbox.Shape != new Shape(n, 4) || anchors.Shape != new Shape(n, 2) || classes.Count != n)
            throw new ArgumentException($"YoloLossLevel: {n} targets need tbox [n, 4], anchors [n, 2], classes [n]; got {tbox.Shape}, {anchors.Shape}, {classes.Shape}");
        // A float16 head (the head convolution's output under AMP, read as it is where the backend
        // can) still gets float32 sums, IoU and objectness targets.
        var dtype = head.DType == DType.Float16 ? DType.Float32 : head.DType;
        if (tbox.DType != dtype || anchors.DType != dtype) throw new ArgumentException($"YoloLossLevel: tbox and anchors must be {dtype.Name()} for a {head.DType.Name()} head, got {tbox} and {anchors}");
        var sums = Tensor.Empty(new Shape(3), dtype, head.Device);
        var iou = Tensor.Empty(new Shape(n), dtype, head.Device);
        head.Backend.Extension<IYoloLossLevel>().YoloLossLevel(head, rows, tbox, anchors, classes, count, terms, iou, sums);
        if (GradMode.ShouldRecord(head)) new YoloLossNode(head, rows, tbox, anchors, classes, count, terms, iou).Attach(sums);
        return (sums, iou);
    }

    /// The op's rows in the op table (OpCatalog.Add at startup): gradient checks and GPU parity.
    public static readonly OpCase[] Catalog =
    [
        new("yolo loss level (fused)",
            [new([12, 8]), InputSpec.Idx(3, 7, 3, 11), new([4, 4], Gen.Positive, false), new([4, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 2)],
            x =>
            {
                // The loss runs in float32 on GPUs; float16 heads are cast first, as YoloLoss does.
                // DIoU and gr = 0 detach nothing, so central differences see the whole gradient
                // (CIoU's detached alpha is compared with autograd in FusedLossTests).
                Tensor F(Tensor t) => t.DType == DType.Float16 ? t.Cast(DType.Float32) : t;
                return F(x[0]).YoloLossLevel(x[1], F(x[2]), F(x[3]), x[4], new YoloLossTerms(3, IouKind.DIoU, 0.95, 0.05, 1.2, 0.9, 0.0)).Sums;
            }),
        // The head as the trainer passes it under AMP: float16, read by the kernels as it is (the
        // box and anchor targets float32); the gradient comes back in float16.
        new("yolo loss level (float16 head)",
            [new([12, 8]), InputSpec.Idx(3, 7, 3, 3), new([4, 4], Gen.Positive, false), new([4, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 2)],
            x =>
            {
                Tensor F(Tensor t) => t.DType == DType.Float16 ? t.Cast(DType.Float32) : t;
                return x[0].YoloLossLevel(x[1], F(x[2]), F(x[3]), x[4], new YoloLossTerms(3, IouKind.DIoU, 0.95, 0.05, 1.2, 0.9, 0.0)).Sums;
            }),
        // 600 rows: the objectness sum over three blocks, added by the last one.
        new("yolo loss level (several blocks)",
            [new([600, 8]), InputSpec.Idx(3, 590, 3, 301), new([4, 4], Gen.Positive, false), new([4, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 2)],
            x =>
            {
                Tensor F(Tensor t) => t.DType == DType.Float16 ? t.Cast(DType.Float32) : t;
                return x[0].YoloLossLevel(x[1], F(x[2]), F(x[3]), x[4], new YoloLossTerms(3, IouKind.DIoU, 0.95, 0.05, 1.2, 0.9, 0.0)).Sums;
            }),
        // Fixed-capacity buffers: 3 real targets of 5 (a captured step's), the padding's rows
        // pointing at rows the real targets use too.
        new("yolo loss level (padded)",
            [new([12, 8]), InputSpec.Idx(3, 7, 3, 7, 3), new([5, 4], Gen.Positive, false), new([5, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 0, 0), InputSpec.Idx(3)],
            x =>
            {
                Tensor F(Tensor t) => t.DType == DType.Float16 ? t.Cast(DType.Float32) : t;
                return F(x[0]).YoloLossLevel(x[1], F(x[2]), F(x[3]), x[4], new YoloLossTerms(3, IouKind.DIoU, 0.95, 0.05, 1.2, 0.9, 0.0), x[5]).Sums;
            }),
    ];

    /// Rows for the GPU parity table only: YOLOv5's own settings (CIoU, gr = 1), whose objectness
    /// targets hold each row's last IoU detached, which central differences cannot follow.
    public static readonly OpCase[] Wide =
    [
        new("yolo loss level (CIoU, gr 1)",
            [new([40, 8], Gen.Probability), InputSpec.Idx(3, 7, 3, 11, 3, 30), new([6, 4], Gen.Positive, false), new([6, 2], Gen.Positive, false), InputSpec.Idx(0, 2, 1, 2, 1, 0)],
            x =>
            {
                Tensor F(Tensor t) => t.DType == DType.Float16 ? t.Cast(DType.Float32) : t;
                return x[0].YoloLossLevel(x[1], F(x[2]), F(x[3]), x[4], new YoloLossTerms(3, IouKind.CIoU, 0.95, 0.05, 1.2, 0.9, 1.0)).Sums;
            }),
    ];

    sealed class YoloLossNode : Node
    {
        readonly Tensor head, rows, tbox, anchors, classes, iou;
        readonly Tensor? count;
        readonly YoloLossTerms terms;

        public YoloLossNode(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, Tensor? count, YoloLossTerms terms, Tensor iou) : base(head)
        {
            this.count = count is null ? null : Save(count);
            this.head = Save(head);
            this.rows = Save(rows);
            this.tbox = Save(tbox);
            this.anchors = Save(anchors);
            this.classes = Save(classes);
            this.iou = Save(iou);
            this.terms = terms;
        }

        protected override Tensor?[] Backward(Tensor gsums)
        {
            var ghead = Tensor.Empty(head.Shape, head.DType, head.Device);
            head.Backend.Extension<IYoloLossLevel>().YoloLossLevelBackward(head, rows, tbox, anchors, classes, count, terms, iou, gsums, ghead);
            return [ghead];
        }
    }
}
