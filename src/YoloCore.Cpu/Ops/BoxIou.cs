using System.Numerics;

namespace YoloCore.Cpu;

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
