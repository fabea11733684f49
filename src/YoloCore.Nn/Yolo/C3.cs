namespace YoloCore.Nn.Yolo;

/// YOLOv5's C3 (CSP bottleneck with 3 convolutions): cv3(concat(m(cv1(x)), cv2(x))) where m is n
/// Bottlenecks of width c_ = c2·e. Channels concatenate on the last (NHWC) axis.
public sealed class C3 : Module
{
    readonly ConvBnSilu cv1, cv2, cv3;
    readonly ModuleList m;

    public C3(int c1, int c2, int n, bool shortcut, double e, Rng rng)
    {
        int c = (int)(c2 * e);
        cv1 = RegisterModule("cv1", new ConvBnSilu(c1, c, 1, 1, rng));
        cv2 = RegisterModule("cv2", new ConvBnSilu(c1, c, 1, 1, rng));
        cv3 = RegisterModule("cv3", new ConvBnSilu(2 * c, c2, 1, 1, rng));
        m = RegisterModule("m", new ModuleList(Enumerable.Range(0, n).Select(_ => (Module)new Bottleneck(c, c, shortcut, 1.0, rng)).ToList()));
    }

    public override Tensor Forward(Tensor x)
    {
        using var a = cv1.Forward(x);
        using var ma = m.Count > 0 ? m.Forward(a) : a.Reshape(a.Shape);
        using var b = cv2.Forward(x);
        using var cat = Ops.Concat([ma, b], -1);
        return cv3.Forward(cat);
    }
}
