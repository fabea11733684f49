using System.Numerics;

namespace YoloCore.Cpu;

// The fused YOLOv5 loss of one level on the CPU: the reference for kernels/loss.cu's yolo_* kernels,
// and checked itself against the loss written with autograd ops (YoloLoss.ComputeComposite).
// Per target k: the predicted box from the head's row (xy = 2σ - 0.5, wh = (2σ)²·anchor), its IoU
// with the target box (IoU, GIoU, DIoU or CIoU as bbox_iou in YOLOv5 v7.0, eps 1e-7), and the
// class BCE against label-smoothed one-hot targets; per row r: the objectness BCE against tobj.
public sealed unsafe partial class CpuBackend
{
    public void YoloLossForward(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, YoloLossTerms terms,
        Tensor iou, Tensor tobj, Tensor sums) =>
        Floating(head, "YoloLoss", () => YoloLossKernel<float>.Forward(head, rows, tbox, anchors, classes, terms, iou, tobj, sums),
            () => YoloLossKernel<double>.Forward(head, rows, tbox, anchors, classes, terms, iou, tobj, sums));

    public void YoloLossBackward(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, YoloLossTerms terms,
        Tensor tobj, Tensor gsums, Tensor ghead) =>
        Floating(head, "YoloLoss", () => YoloLossKernel<float>.Backward(head, rows, tbox, anchors, classes, terms, tobj, gsums, ghead),
            () => YoloLossKernel<double>.Backward(head, rows, tbox, anchors, classes, terms, tobj, gsums, ghead));

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

        public static void Forward(Tensor head, Tensor rowsT, Tensor tboxT, Tensor anchorsT, Tensor classesT, YoloLossTerms terms,
            Tensor iouT, Tensor tobjT, Tensor sumsT)
        {
            int no = head.Shape[1], n = (int)rowsT.Count, nc = terms.Classes;
            long r = head.Shape[0];
            T* p = Ptr<T>(head), tbox = Ptr<T>(tboxT), anchors = Ptr<T>(anchorsT), iou = Ptr<T>(iouT), tobj = Ptr<T>(tobjT), sums = Ptr<T>(sumsT);
            int* rows = Ptr<int>(rowsT), cls = Ptr<int>(classesT);
            double sumBox = 0, sumCls = 0, sumObj = 0;
            new Span<T>(tobj, (int)r).Clear();
            var last = new Dictionary<int, int>();
            for (int k = 0; k < n; k++) last[rows[k]] = k;
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
                if (last[rows[k]] == k) tobj[rows[k]] = T.CreateChecked((1 - terms.Gr) + terms.Gr * Math.Max(v, 0));
            }
            for (long i = 0; i < r; i++) sumObj += Bce(D(p[i * no + 4]), D(tobj[i]), terms.ObjPw);
            sums[0] = T.CreateChecked(sumBox);
            sums[1] = T.CreateChecked(sumObj);
            sums[2] = T.CreateChecked(sumCls);
        }

        public static void Backward(Tensor head, Tensor rowsT, Tensor tboxT, Tensor anchorsT, Tensor classesT, YoloLossTerms terms,
            Tensor tobjT, Tensor gsumsT, Tensor gheadT)
        {
            int no = head.Shape[1], n = (int)rowsT.Count, nc = terms.Classes;
            long r = head.Shape[0];
            T* p = Ptr<T>(head), tbox = Ptr<T>(tboxT), anchors = Ptr<T>(anchorsT), tobj = Ptr<T>(tobjT), g = Ptr<T>(gsumsT), gp = Ptr<T>(gheadT);
            int* rows = Ptr<int>(rowsT), cls = Ptr<int>(classesT);
            double gBox = D(g[0]), gObj = D(g[1]), gCls = D(g[2]);
            new Span<T>(gp, (int)(r * no)).Clear();
            for (long i = 0; i < r; i++) gp[i * no + 4] = T.CreateChecked(gObj * BceGrad(D(p[i * no + 4]), D(tobj[i]), terms.ObjPw));
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

/// YOLOv5 v7.0's bbox_iou for one pair of boxes given as (x, y, w, h), and its gradient by the first
/// box. Min and max split the gradient in half on ties and clamp(0) passes it at 0, as autograd does;
/// CIoU's alpha is a constant in the gradient (computed under no_grad in YOLOv5).
internal static class BoxIouMath
{
    const double Eps = 1e-7;

    public static double Value(double[] b, double[] t, IouKind kind) => Evaluate(b, t, kind, null);

    public static double[] Gradient(double[] b, double[] t, IouKind kind)
    {
        var g = new double[4];
        Evaluate(b, t, kind, g);
        return g;
    }

    /// d min(a, c)/da and d max(a, c)/da.
    static double DMin(double a, double c) => a < c ? 1 : a == c ? 0.5 : 0;
    static double DMax(double a, double c) => a > c ? 1 : a == c ? 0.5 : 0;

    static double Evaluate(double[] b, double[] t, IouKind kind, double[]? grad)
    {
        double x1 = b[0], y1 = b[1], w1 = b[2], h1 = b[3], x2 = t[0], y2 = t[1], w2 = t[2], h2 = t[3];
        double b1x1 = x1 - w1 / 2, b1x2 = x1 + w1 / 2, b1y1 = y1 - h1 / 2, b1y2 = y1 + h1 / 2;
        double b2x1 = x2 - w2 / 2, b2x2 = x2 + w2 / 2, b2y1 = y2 - h2 / 2, b2y2 = y2 + h2 / 2;
        double iw = Math.Min(b1x2, b2x2) - Math.Max(b1x1, b2x1), ih = Math.Min(b1y2, b2y2) - Math.Max(b1y1, b2y1);
        double iwc = Math.Max(iw, 0), ihc = Math.Max(ih, 0);
        double inter = iwc * ihc, union = w1 * h1 + w2 * h2 - inter + Eps, iou = inter / union;
        double cw = Math.Max(b1x2, b2x2) - Math.Min(b1x1, b2x1), ch = Math.Max(b1y2, b2y2) - Math.Min(b1y1, b2y1);
        double c2 = cw * cw + ch * ch + Eps;
        double dxs = b2x1 + b2x2 - b1x1 - b1x2, dys = b2y1 + b2y2 - b1y1 - b1y2, rho2 = (dxs * dxs + dys * dys) / 4;
        double dAtan = Math.Atan(w2 / h2) - Math.Atan(w1 / h1), v = 4 / (Math.PI * Math.PI) * dAtan * dAtan;
        double carea = cw * ch + Eps;
        double value = kind switch
        {
            IouKind.Iou => iou,
            IouKind.GIoU => iou - (carea - union) / carea,
            IouKind.DIoU => iou - rho2 / c2,
            _ => iou - (rho2 / c2 + v * (v / (v - iou + (1 + Eps)))),
        };
        if (grad is null) return value;

        // Derivatives of the box edges by (x1, y1, w1, h1): b1x1 = x1 - w1/2, b1x2 = x1 + w1/2, ...
        double[] dLeft = [1, 0, -0.5, 0], dRight = [1, 0, 0.5, 0], dTop = [0, 1, 0, -0.5], dBottom = [0, 1, 0, 0.5];
        for (int j = 0; j < 4; j++)
        {
            double dIw = (iw >= 0 ? 1 : 0) * (DMin(b1x2, b2x2) * dRight[j] - DMax(b1x1, b2x1) * dLeft[j]);
            double dIh = (ih >= 0 ? 1 : 0) * (DMin(b1y2, b2y2) * dBottom[j] - DMax(b1y1, b2y1) * dTop[j]);
            double dInter = ihc * dIw + iwc * dIh;
            double dArea = j == 2 ? h1 : j == 3 ? w1 : 0;
            double dUnion = dArea - dInter;
            double dIou = (dInter * union - inter * dUnion) / (union * union);
            double d = dIou;
            if (kind != IouKind.Iou)
            {
                double dCw = DMax(b1x2, b2x2) * dRight[j] - DMin(b1x1, b2x1) * dLeft[j];
                double dCh = DMax(b1y2, b2y2) * dBottom[j] - DMin(b1y1, b2y1) * dTop[j];
                if (kind == IouKind.GIoU)
                {
                    double dCarea = ch * dCw + cw * dCh;
                    // term = (carea - union)/carea = 1 - union/carea
                    d -= -(dUnion * carea - union * dCarea) / (carea * carea);
                }
                else
                {
                    double dC2 = 2 * cw * dCw + 2 * ch * dCh;
                    double dDxs = -(dLeft[j] + dRight[j]), dDys = -(dTop[j] + dBottom[j]);
                    double dRho2 = (2 * dxs * dDxs + 2 * dys * dDys) / 4;
                    d -= (dRho2 * c2 - rho2 * dC2) / (c2 * c2);
                    if (kind == IouKind.CIoU)
                    {
                        double alpha = v / (v - iou + (1 + Eps));
                        double r = w1 / h1;
                        double dRatio = j == 2 ? 1 / h1 : j == 3 ? -w1 / (h1 * h1) : 0;
                        double dV = 4 / (Math.PI * Math.PI) * 2 * dAtan * (-(1 / (1 + r * r)) * dRatio);
                        d -= alpha * dV;
                    }
                }
            }
            grad[j] = d;
        }
        return value;
    }
}
