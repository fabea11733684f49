using YoloCore.Autograd;

namespace YoloCore;

/// The box overlap measures of YOLOv5's bbox_iou. The values are what kernels/yololosslevel.cu's iou_kind reads.
public enum IouKind { Iou = 0, GIoU = 1, DIoU = 2, CIoU = 3 }

/// Settings of the fused YOLOv5 loss for one detection level. Cp and Cn are the label-smoothed
/// positive and negative class targets; Gr mixes the objectness target: (1 - gr) + gr·clamp(iou, 0).
public readonly record struct YoloLossTerms(int Classes, IouKind Iou, double Cp, double Cn, double ClsPw, double ObjPw, double Gr);

public static partial class Ops
{
    /// The three sums of YOLOv5's loss for one detection level, fused: [Σ (1 - IoU), Σ BCE(obj),
    /// Σ BCE(cls)] (see IBackend.YoloLossLevel), differentiable with respect to the head.
    /// Also returns the objectness targets it built (detached), for inspection.
    public static (Tensor Sums, Tensor Iou) YoloLossLevel(this Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, YoloLossTerms terms)
    {
        if (head.Rank != 2 || head.Shape[1] != terms.Classes + 5) throw new ArgumentException($"YoloLossLevel: head rows must be [R, {terms.Classes + 5}], got {head.Shape}");
        int n = (int)rows.Count;
        if (tbox.Shape != new Shape(n, 4) || anchors.Shape != new Shape(n, 2) || classes.Count != n)
            throw new ArgumentException($"YoloLossLevel: {n} targets need tbox [n, 4], anchors [n, 2], classes [n]; got {tbox.Shape}, {anchors.Shape}, {classes.Shape}");
        var sums = Like(head, new Shape(3));
        var iou = Like(head, new Shape(n));
        var tobj = Like(head, new Shape(head.Shape[0]));
        head.Backend.YoloLossLevel(head, rows, tbox, anchors, classes, terms, iou, tobj, sums);
        if (GradMode.ShouldRecord(head)) sums.GradFn = new YoloLossNode(head, rows, tbox, anchors, classes, terms, tobj);
        tobj.Dispose();
        return (sums, iou);
    }

    sealed class YoloLossNode : Node
    {
        readonly Tensor head, rows, tbox, anchors, classes, tobj;
        readonly YoloLossTerms terms;

        public YoloLossNode(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, YoloLossTerms terms, Tensor tobj) : base(head)
        {
            this.head = Save(head);
            this.rows = Save(rows);
            this.tbox = Save(tbox);
            this.anchors = Save(anchors);
            this.classes = Save(classes);
            this.tobj = Save(tobj);
            this.terms = terms;
        }

        protected internal override Tensor?[] Backward(Tensor gsums)
        {
            var ghead = Like(head);
            head.Backend.YoloLossLevelBackward(head, rows, tbox, anchors, classes, terms, tobj, gsums, ghead);
            return [ghead];
        }
    }
}
