using System.Numerics;

namespace YoloCore.Cpu;

// The fused YOLOv5 loss on the CPU: the reference for kernels/yololoss.cu, and checked itself
// against the loss written with autograd ops (YoloLoss.ComputeComposite). Level by level:
// Per target k: the predicted box from the head's row (xy = 2σ - 0.5, wh = (2σ)²·anchor), its IoU
// with the target box (IoU, GIoU, DIoU or CIoU as bbox_iou in YOLOv5 v7.0, eps 1e-7), and the
// class BCE against label-smoothed one-hot targets; per row r: the objectness BCE against tobj,
// (1 - gr) + gr·clamp(iou, 0) of the row's last target (0 where none is), made from the IoU as
// stored both ways. Then the levels' sums weighted and added in double.
public sealed unsafe partial class CpuBackend
{
    public void YoloLoss(IReadOnlyList<YoloLossLevel> levels, YoloLossTerms terms, Tensor weights, Tensor stepWeights, IReadOnlyList<Tensor> iou,
        Tensor total, Tensor items)
    {
        double sum = 0;
        var item = new double[3];
        for (int l = 0; l < levels.Count; l++)
        {
            var (level, levelIou) = (levels[l], iou[l]);
            double[] sums = null!;
            Floating(level.Head, "YoloLoss", () => sums = YoloLossKernel<float>.Forward(level, terms, levelIou),
                () => sums = YoloLossKernel<double>.Forward(level, terms, levelIou));
            for (int j = 0; j < 3; j++)
            {
                sum += sums[j] * Element(stepWeights, 3 * l + j);
                item[j] += sums[j] * Element(weights, 3 * l + j);
            }
        }
        Fill(total, sum);
        double[] values = [sum, .. item];
        for (int i = 0; i < 4; i++)
            if (items.DType == DType.Float64) Ptr<double>(items)[i] = values[i];
            else Ptr<float>(items)[i] = (float)values[i];
    }

    public void YoloLossBackward(IReadOnlyList<YoloLossLevel> levels, YoloLossTerms terms, IReadOnlyList<Tensor> iou, Tensor stepWeights, Tensor gtotal,
        IReadOnlyList<Tensor> gheads)
    {
        double g = ScalarValue(gtotal);
        for (int l = 0; l < levels.Count; l++)
        {
            var (level, levelIou, ghead) = (levels[l], iou[l], gheads[l]);
            double[] gsums = [g * Element(stepWeights, 3 * l), g * Element(stepWeights, 3 * l + 1), g * Element(stepWeights, 3 * l + 2)];
            Floating(level.Head, "YoloLoss", () => YoloLossKernel<float>.Backward(level, terms, levelIou, gsums, ghead),
                () => YoloLossKernel<double>.Backward(level, terms, levelIou, gsums, ghead));
        }
    }

    /// Element i of a float32 or float64 tensor.
    static double Element(Tensor t, int i) => t.DType == DType.Float64 ? Ptr<double>(t)[i] : Ptr<float>(t)[i];

    /// The real targets among rows' n: count's value (padding follows), or all of them.
    static int Count(Tensor rows, Tensor? count) => count is null ? (int)rows.Count : Math.Clamp(Ptr<int>(count)[0], 0, (int)rows.Count);

    static class YoloLossKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static double D(T v) => double.CreateTruncating(v);
        static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
        static double SoftplusNeg(double x) => Math.Log(1 + Math.Exp(-Math.Abs(x))) + Math.Max(-x, 0); // log(1 + e^-x)

        /// BCE on a logit with target t and positive weight pw, and its derivative.
        static double Bce(double x, double t, double pw) => (1 - t) * x + ((pw - 1) * t + 1) * SoftplusNeg(x);
        static double BceGrad(double x, double t, double pw) => ((pw - 1) * t + 1) * Sigmoid(x) - pw * t;

        /// The predicted box of target k and the derivatives of its (x, y, w, h) by the raw outputs.
        static (double[] Box, double[] Dbox) Predicted(T* row, T* anchor)
        {
            var box = new double[4];
            var dbox = new double[4];
            for (int j = 0; j < 2; j++)
            {
                double s = Sigmoid(D(row[j]));
                box[j] = s * 2 - 0.5;
                dbox[j] = 2 * s * (1 - s);
                double sw = Sigmoid(D(row[2 + j])), a = D(anchor[j]);
                box[2 + j] = (sw * 2) * (sw * 2) * a;
                dbox[2 + j] = 8 * sw * sw * (1 - sw) * a;
            }
            return (box, dbox);
        }

        /// Each row's objectness target from its last target's IoU as stored (iou), 0 for the rest.
        static double[] ObjectnessTargets(long r, int* rows, int n, T* iou, double gr)
        {
            var tobj = new double[r];
            for (int k = 0; k < n; k++) tobj[rows[k]] = (1 - gr) + gr * Math.Max(D(iou[k]), 0);
            return tobj;
        }

        /// The level's sums (Σ (1 - IoU), Σ BCE(objectness), Σ BCE(class scores)), and its IoUs into iouT.
        public static double[] Forward(YoloLossLevel level, YoloLossTerms terms, Tensor iouT)
        {
            var (head, rowsT) = (level.Head, level.Rows);
            int no = head.Shape[1], n = Count(rowsT, level.Count), nc = terms.Classes;
            long r = head.Shape[0];
            T* p = Ptr<T>(head), tbox = Ptr<T>(level.Box), anchors = Ptr<T>(level.Anchors), iou = Ptr<T>(iouT);
            int* rows = Ptr<int>(rowsT), cls = Ptr<int>(level.Classes);
            double sumBox = 0, sumCls = 0, sumObj = 0;
            new Span<T>(iou, (int)rowsT.Count).Clear();
            for (int k = 0; k < n; k++)
            {
                T* row = p + (long)rows[k] * no;
                var (box, _) = Predicted(row, anchors + 2 * k);
                var t = new double[4];
                for (int j = 0; j < 4; j++) t[j] = D(tbox[4 * k + j]);
                double v = BoxIouMath.Value(box, t, terms.Iou);
                iou[k] = T.CreateChecked(v);
                sumBox += 1 - v;
                if (nc > 1)
                    for (int c = 0; c < nc; c++) sumCls += Bce(D(row[5 + c]), c == cls[k] ? terms.Cp : terms.Cn, terms.ClsPw);
            }
            var tobj = ObjectnessTargets(r, rows, n, iou, terms.Gr);
            for (long i = 0; i < r; i++) sumObj += Bce(D(p[i * no + 4]), tobj[i], terms.ObjPw);
            return [sumBox, sumObj, sumCls];
        }

        /// ghead from the level's sums' gradients g.
        public static void Backward(YoloLossLevel level, YoloLossTerms terms, Tensor iouT, double[] g, Tensor gheadT)
        {
            var (head, rowsT) = (level.Head, level.Rows);
            int no = head.Shape[1], n = Count(rowsT, level.Count), nc = terms.Classes;
            long r = head.Shape[0];
            T* p = Ptr<T>(head), tbox = Ptr<T>(level.Box), anchors = Ptr<T>(level.Anchors), gp = Ptr<T>(gheadT);
            int* rows = Ptr<int>(rowsT), cls = Ptr<int>(level.Classes);
            double gBox = g[0], gObj = g[1], gCls = g[2];
            var tobj = ObjectnessTargets(r, rows, n, Ptr<T>(iouT), terms.Gr);
            new Span<T>(gp, (int)(r * no)).Clear();
            for (long i = 0; i < r; i++) gp[i * no + 4] = T.CreateChecked(gObj * BceGrad(D(p[i * no + 4]), tobj[i], terms.ObjPw));
            for (int k = 0; k < n; k++)
            {
                T* row = p + (long)rows[k] * no;
                T* grow = gp + (long)rows[k] * no;
                var (box, dbox) = Predicted(row, anchors + 2 * k);
                var t = new double[4];
                for (int j = 0; j < 4; j++) t[j] = D(tbox[4 * k + j]);
                var dIou = BoxIouMath.Gradient(box, t, terms.Iou);
                // Σ (1 - iou): d/dbox = -d iou/d box.
                for (int j = 0; j < 4; j++) grow[j] += T.CreateChecked(-gBox * dIou[j] * dbox[j]);
                if (nc > 1)
                    for (int c = 0; c < nc; c++)
                        grow[5 + c] += T.CreateChecked(gCls * BceGrad(D(row[5 + c]), c == cls[k] ? terms.Cp : terms.Cn, terms.ClsPw));
            }
        }
    }
}
