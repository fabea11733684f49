namespace YoloCore;

/// The box overlap measures of YOLOv5's bbox_iou. The values are what kernels/yololoss.cu's iou_kind reads.
public enum IouKind { Iou = 0, GIoU = 1, DIoU = 2, CIoU = 3 }

/// Settings of the fused YOLOv5 loss. Cp and Cn are the label-smoothed positive and negative
/// class targets; Gr mixes the objectness target: (1 - gr) + gr·clamp(iou, 0).
public readonly record struct YoloLossTerms(int Classes, IouKind Iou, double Cp, double Cn, double ClsPw, double ObjPw, double Gr);

/// One detection level's inputs to the fused loss. Head: the level's raw outputs as rows
/// [R, 5 + nc]; Rows (int32 [n]): the assigned row of each target; Box [n, 4] (offset in cell, w, h
/// in grid units), Anchors [n, 2], Classes (int32 [n]); Count (an int32 scalar on the device, or
/// null for all n): how many of the n targets are real, the rest being padding of fixed-capacity
/// buffers (a captured step's).
public readonly record struct YoloLossLevel(Tensor Head, Tensor Rows, Tensor Box, Tensor Anchors, Tensor Classes, Tensor? Count);

/// The kernels of YOLOv5's loss over every detection level, an extension op (IBackend.Extension):
/// the op and its autograd rule are in YoloCore.Nn (Yolo/YoloLossOp.cs); this contract stays in
/// Core because the backends implement it and sit beside Core, below Nn.
public interface IYoloLoss
{
    /// Level l's sums are (Σ (1 - IoU), Σ BCE(objectness), Σ BCE(class scores)), a row's objectness
    /// target being (1 - gr) + gr·clamp(iou, 0) of the last target assigned to it, 0 where none
    /// is. Writes each level's target IoUs (iou[l] [n], 0 for padding), total (a scalar) =
    /// Σ_l Σ_j sums[l, j]·stepWeights[l, j] and items [4] = (total, Σ_l sums[l, j]·weights[l, j]
    /// for j = box, objectness, class); weights and stepWeights are [levels, 3].
    void YoloLoss(IReadOnlyList<YoloLossLevel> levels, YoloLossTerms terms, Tensor weights, Tensor stepWeights, IReadOnlyList<Tensor> iou,
        Tensor total, Tensor items);

    /// gheads[l] = gtotal·Σ_j stepWeights[l, j]·∂sums[l, j]/∂head_l, with the IoU inside the
    /// objectness targets and CIoU's alpha held constant (detached), as YOLOv5 does; iou: the
    /// forward's (the objectness targets are made from it again).
    void YoloLossBackward(IReadOnlyList<YoloLossLevel> levels, YoloLossTerms terms, IReadOnlyList<Tensor> iou, Tensor stepWeights, Tensor gtotal,
        IReadOnlyList<Tensor> gheads);
}
