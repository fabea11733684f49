namespace YoloCore.Nn.Yolo;

/// YOLOv5's C3 (CSP bottleneck with 3 convolutions): cv3(concat(m(cv1(x)), cv2(x))) where m is n
/// Bottlenecks of width c_ = c2·e. Channels concatenate on the last (NHWC) axis.
public sealed class C3 : EndsInConvBlock
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

    protected override ConvBnSilu Last => cv3;

    public override bool ReadsInPlace(Tensor x) => cv1.Defers(x) && cv2.Defers(x);

    /// concat(m(cv1(x)), cv2(x)), cv1's output deferred where the first Bottleneck reads it
    /// through its cv1 alone (no shortcut), cv2's where cv3 reads the two in place.
    protected override DeferredActivation Body(DeferredActivation x)
    {
        Tensor ma;
        if (m.Count == 0) ma = cv1.Forward(x);
        else
        {
            var first = (Bottleneck)m[0];
            using (var a = first.ReadsDeferred ? cv1.ForwardDeferred(x) : DeferredActivation.Owning(cv1.Forward(x)))
                ma = first.Forward(a);
            for (int i = 1; i < m.Count; i++)
            {
                var next = m[i].Forward(ma);
                ma.Dispose(); // the graph keeps what backward needs
                ma = next;
            }
        }
        return Joined(DeferredActivation.Owning(ma), cv2.ForwardDeferred(x));
    }
}
