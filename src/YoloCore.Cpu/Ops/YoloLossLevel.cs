using System.Numerics;

namespace YoloCore.Cpu;

// The fused YOLOv5 loss of one level on the CPU: the reference for kernels/yololosslevel.cu,
// and checked itself against the loss written with autograd ops (YoloLoss.ComputeComposite).
// Per target k: the predicted box from the head's row (xy = 2σ - 0.5, wh = (2σ)²·anchor), its IoU
// with the target box (IoU, GIoU, DIoU or CIoU as bbox_iou in YOLOv5 v7.0, eps 1e-7), and the
// class BCE against label-smoothed one-hot targets; per row r: the objectness BCE against tobj,
// (1 - gr) + gr·clamp(iou, 0) of the row's last target (0 where none is), made from the IoU as
// stored both ways.
public sealed unsafe partial class CpuBackend
{
    public void YoloLossLevel(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, Tensor? count, YoloLossTerms terms,
        Tensor iou, Tensor sums) =>
        Floating(head, "YoloLossLevel", () => YoloLossKernel<float>.Forward(head, rows, tbox, anchors, classes, count, terms, iou, sums),
            () => YoloLossKernel<double>.Forward(head, rows, tbox, anchors, classes, count, terms, iou, sums));

    public void YoloLossLevelBackward(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, Tensor? count, YoloLossTerms terms,
        Tensor iou, Tensor gsums, Tensor ghead) =>
        Floating(head, "YoloLossLevel", () => YoloLossKernel<float>.Backward(head, rows, tbox, anchors, classes, count, terms, iou, gsums, ghead),
            () => YoloLossKernel<double>.Backward(head, rows, tbox, anchors, classes, count, terms, iou, gsums, ghead));

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

        public static void Forward(Tensor head, Tensor rowsT, Tensor tboxT, Tensor anchorsT, Tensor classesT, Tensor? countT, YoloLossTerms terms,
            Tensor iouT, Tensor sumsT)
        {
            int no = head.Shape[1], n = Count(rowsT, countT), nc = terms.Classes;
            long r = head.Shape[0];
            T* p = Ptr<T>(head), tbox = Ptr<T>(tboxT), anchors = Ptr<T>(anchorsT), iou = Ptr<T>(iouT), sums = Ptr<T>(sumsT);
            int* rows = Ptr<int>(rowsT), cls = Ptr<int>(classesT);
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
            sums[0] = T.CreateChecked(sumBox);
            sums[1] = T.CreateChecked(sumObj);
            sums[2] = T.CreateChecked(sumCls);
        }

        public static void Backward(Tensor head, Tensor rowsT, Tensor tboxT, Tensor anchorsT, Tensor classesT, Tensor? countT, YoloLossTerms terms,
            Tensor iouT, Tensor gsumsT, Tensor gheadT)
        {
            int no = head.Shape[1], n = Count(rowsT, countT), nc = terms.Classes;
            long r = head.Shape[0];
            T* p = Ptr<T>(head), tbox = Ptr<T>(tboxT), anchors = Ptr<T>(anchorsT), g = Ptr<T>(gsumsT), gp = Ptr<T>(gheadT);
            int* rows = Ptr<int>(rowsT), cls = Ptr<int>(classesT);
            double gBox = D(g[0]), gObj = D(g[1]), gCls = D(g[2]);
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
