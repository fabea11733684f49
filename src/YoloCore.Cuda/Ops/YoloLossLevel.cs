using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// yololosslevel.cu: YOLOv5's loss for one level in three launches (the three sums in one, and the
// two backward passes).
public sealed unsafe partial class CudaBackend
{
    [StructLayout(LayoutKind.Sequential)]
    struct LossTerms
    {
        public int Classes, IouKind;
        public float Cp, Cn, ClsPw, ObjPw, Gr;

        public static LossTerms From(YoloLossTerms t) => new()
        {
            Classes = t.Classes, IouKind = (int)t.Iou, Cp = (float)t.Cp, Cn = (float)t.Cn, ClsPw = (float)t.ClsPw, ObjPw = (float)t.ObjPw, Gr = (float)t.Gr,
        };
    }

    static void RequireCount(Tensor? count)
    {
        if (count is not null && (count.Count != 1 || count.DType != DType.Int32)) throw new ArgumentException($"the loss's target count must be an int32 scalar, got {count}");
    }

    /// The head is float32 or float16 (the head convolution's own output under AMP); the loss's
    /// terms, sums and the IoU and objectness targets are float32 either way.
    static string HeadSuffix(Tensor head, params Tensor[] float32)
    {
        foreach (var t in float32)
            if (t.DType != DType.Float32) throw new ArgumentException($"the fused YOLO loss's sums, IoU and targets are float32 on CUDA, got {t}");
        return Suffix(head, "YoloLossLevel");
    }

    public void YoloLossLevel(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, Tensor? count, YoloLossTerms terms,
        Tensor iou, Tensor sums)
    {
        string h = HeadSuffix(head, tbox, anchors, iou, sums);
        RequireCount(count);
        int n = (int)rows.Count, no = head.Shape[1];
        long r = head.Shape[0];
        // The kernel adds up its own terms (its last block writes the sums), over the larger of
        // the rows and the targets: at least one block, so that no targets still writes zeros.
        var blocks = Work.Grid((uint)Math.Clamp((Math.Max(r, n) + 255) / 256, 1, LossSumBlocks));
        using var partial = Tensor.Empty(new Shape(3 * LossSumBlocks), DType.Float32, Device);
        kernel.YoloLevelForward(h, blocks, Ptr(head), Ptr(rows), Ptr(tbox), Ptr(anchors), Ptr(classes), PtrOrNull(count), n, r, no, LossTerms.From(terms),
            Ptr(iou), Ptr(partial), Tickets(1), Ptr(sums));
    }

    /// Blocks of the loss's summing kernels: each adds a grid-stride share, the last adds the blocks.
    const int LossSumBlocks = 1024;

    public void YoloLossLevelBackward(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, Tensor? count, YoloLossTerms terms,
        Tensor iou, Tensor gsums, Tensor ghead)
    {
        string h = HeadSuffix(head, tbox, anchors, iou, gsums);
        if (ghead.DType != head.DType) throw new ArgumentException($"the loss's head gradient {ghead} must have the head's dtype {head.DType.Name()}");
        RequireCount(count);
        int n = (int)rows.Count, no = head.Shape[1];
        long r = head.Shape[0];
        var t = LossTerms.From(terms);
        kernel.YoloObjBackward(h, r * no, Ptr(head), r, no, t.ObjPw, Ptr(gsums), Ptr(ghead));
        kernel.YoloTargetsBackward(h, n, Ptr(head), Ptr(rows), Ptr(tbox), Ptr(anchors), Ptr(classes), PtrOrNull(count), n, no, t, Ptr(iou), Ptr(gsums), Ptr(ghead));
    }
}
