using YoloCore.Autograd;

namespace YoloCore.Nn.Yolo;


/// IoU of paired boxes given as centre x, centre y, width, height ([n, 4] each), and its
/// generalised forms, written as differentiable tensor expressions exactly as YOLOv5 v7.0's
/// bbox_iou (eps 1e-7; CIoU's alpha is computed without gradient). Returns [n, 1].
public static class BoxIou
{
    public static Tensor Compute(Tensor box1, Tensor box2, IouKind kind, double eps = 1e-7)
    {
        var b1 = box1.Split(-1, 1, 1, 1, 1);
        var b2 = box2.Split(-1, 1, 1, 1, 1);
        Tensor x1 = b1[0], y1 = b1[1], w1 = b1[2], h1 = b1[3], x2 = b2[0], y2 = b2[1], w2 = b2[2], h2 = b2[3];
        Tensor w1h = w1 / 2, h1h = h1 / 2, w2h = w2 / 2, h2h = h2 / 2;
        Tensor b1x1 = x1 - w1h, b1x2 = x1 + w1h, b1y1 = y1 - h1h, b1y2 = y1 + h1h;
        Tensor b2x1 = x2 - w2h, b2x2 = x2 + w2h, b2y1 = y2 - h2h, b2y2 = y2 + h2h;

        var inter = (b1x2.Minimum(b2x2) - b1x1.Maximum(b2x1)).Clamp(0) * (b1y2.Minimum(b2y2) - b1y1.Maximum(b2y1)).Clamp(0);
        var union = w1 * h1 + w2 * h2 - inter + eps;
        var iou = inter / union;
        if (kind == IouKind.Iou) return iou;

        var cw = b1x2.Maximum(b2x2) - b1x1.Minimum(b2x1); // enclosing box width
        var ch = b1y2.Maximum(b2y2) - b1y1.Minimum(b2y1);
        if (kind == IouKind.GIoU)
        {
            var cArea = cw * ch + eps;
            return iou - (cArea - union) / cArea;
        }
        var c2 = cw.Square() + ch.Square() + eps; // enclosing diagonal squared
        var rho2 = ((b2x1 + b2x2 - b1x1 - b1x2).Square() + (b2y1 + b2y2 - b1y1 - b1y2).Square()) / 4;
        if (kind == IouKind.DIoU) return iou - rho2 / c2;

        var v = (4 / (Math.PI * Math.PI)) * ((w2 / h2).Atan() - (w1 / h1).Atan()).Square();
        Tensor alpha;
        using (GradMode.NoGrad()) alpha = v / (v - iou + (1 + eps));
        return iou - (rho2 / c2 + v * alpha);
    }
}
