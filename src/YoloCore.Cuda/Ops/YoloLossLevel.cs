using System.Runtime.InteropServices;
using YoloCore.Native;

namespace YoloCore.Cuda;

// yololosslevel.cu: YOLOv5's loss for one level in five launches (targets, objectness
// targets, objectness BCE, and the two backward passes) plus three sums, one launch each.
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
        Tensor iou, Tensor tobj, Tensor sums)
    {
        string h = HeadSuffix(head, tbox, anchors, iou, tobj, sums);
        RequireCount(count);
        int n = (int)rows.Count, no = head.Shape[1];
        long r = head.Shape[0];
        var t = LossTerms.From(terms);
        Fill(tobj, 0);
        using var boxTerm = Tensor.Empty(new Shape(Math.Max(1, n)), DType.Float32, Device);
        using var clsTerm = Tensor.Empty(new Shape(Math.Max(1, n)), DType.Float32, Device);
        using var objTerm = Tensor.Empty(new Shape(checked((int)r)), DType.Float32, Device);
        if (n == 0) { Fill(boxTerm, 0); Fill(clsTerm, 0); }
        kernel.YoloTargetsForward(h, n, Ptr(head), Ptr(rows), Ptr(tbox), Ptr(anchors), Ptr(classes), PtrOrNull(count), n, no, t, Ptr(iou), Ptr(boxTerm), Ptr(clsTerm));
        kernel.YoloObjTargets(n, Ptr(rows), Ptr(iou), PtrOrNull(count), n, t.Gr, Ptr(tobj));
        kernel.YoloObjForward(h, r, Ptr(head), Ptr(tobj), r, no, t.ObjPw, Ptr(objTerm));
        Tensor[] terms3 = [boxTerm, objTerm, clsTerm];
        for (int j = 0; j < 3; j++) SumAll(terms3[j], sums, 4 * j);
    }

    public void YoloLossLevelBackward(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, Tensor? count, YoloLossTerms terms,
        Tensor tobj, Tensor gsums, Tensor ghead)
    {
        string h = HeadSuffix(head, tbox, anchors, tobj, gsums);
        if (ghead.DType != head.DType) throw new ArgumentException($"the loss's head gradient {ghead} must have the head's dtype {head.DType.Name()}");
        RequireCount(count);
        int n = (int)rows.Count, no = head.Shape[1];
        long r = head.Shape[0];
        var t = LossTerms.From(terms);
        Fill(ghead, 0);
        kernel.YoloObjBackward(h, r, Ptr(head), Ptr(tobj), r, no, t.ObjPw, Ptr(gsums), Ptr(ghead));
        kernel.YoloTargetsBackward(h, n, Ptr(head), Ptr(rows), Ptr(tbox), Ptr(anchors), Ptr(classes), PtrOrNull(count), n, no, t, Ptr(gsums), Ptr(ghead));
    }
}
