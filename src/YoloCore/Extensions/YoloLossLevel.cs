namespace YoloCore;

/// The box overlap measures of YOLOv5's bbox_iou. The values are what kernels/yololosslevel.cu's iou_kind reads.
public enum IouKind { Iou = 0, GIoU = 1, DIoU = 2, CIoU = 3 }

/// Settings of the fused YOLOv5 loss for one detection level. Cp and Cn are the label-smoothed
/// positive and negative class targets; Gr mixes the objectness target: (1 - gr) + gr·clamp(iou, 0).
public readonly record struct YoloLossTerms(int Classes, IouKind Iou, double Cp, double Cn, double ClsPw, double ObjPw, double Gr);

/// The kernels of YOLOv5's loss for one level, an extension op (IBackend.Extension): the op and
/// its autograd rule are in YoloCore.Nn (Yolo/YoloLossLevel.cs); this contract stays in Core
/// because the backends implement it and sit beside Core, below Nn.
public interface IYoloLossLevel
{
    /// head: the level's raw outputs as rows [R, 5 + nc]; rows (int32 [n]): the assigned row of
    /// each target; tbox [n, 4] (offset in cell, w, h in grid units), anchors [n, 2], classes
    /// (int32 [n]); count (an int32 scalar on the device, or null for all n): how many of the n
    /// targets are real, the rest being padding of fixed-capacity buffers (a captured step's).
    /// Writes each target's IoU (iou [n], 0 for padding) and sums [3] = (Σ (1 - IoU),
    /// Σ BCE(objectness), Σ BCE(class scores)); a row's objectness target is (1 - gr) + gr·clamp(iou, 0)
    /// of the last target assigned to it, 0 where none is.
    void YoloLossLevel(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, Tensor? count, YoloLossTerms terms,
        Tensor iou, Tensor sums);

    /// ghead = Σ_j gsums[j]·∂sums[j]/∂head, with the IoU inside the objectness targets and CIoU's
    /// alpha held constant (detached), as YOLOv5 does; iou: the forward's (the objectness targets
    /// are made from it again).
    void YoloLossLevelBackward(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, Tensor? count, YoloLossTerms terms,
        Tensor iou, Tensor gsums, Tensor ghead);
}
