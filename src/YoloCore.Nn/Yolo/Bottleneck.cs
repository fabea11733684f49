namespace YoloCore.Nn.Yolo;

/// YOLOv5's Bottleneck: 1×1 Conv to c_ = c2·e, 3×3 Conv to c2, plus the input when shortcut and
/// c1 == c2.
public sealed class Bottleneck : Module
{
    readonly ConvBnSilu cv1, cv2;
    readonly bool add;

    public Bottleneck(int c1, int c2, bool shortcut, double e, Rng rng)
    {
        int c = (int)(c2 * e);
        cv1 = RegisterModule("cv1", new ConvBnSilu(c1, c, 1, 1, rng));
        cv2 = RegisterModule("cv2", new ConvBnSilu(c, c2, 3, 1, rng));
        add = shortcut && c1 == c2;
    }

    /// cv1's output goes to cv2 alone: deferred where the blocks defer.
    public override Tensor Forward(Tensor x)
    {
        using var h = cv1.ForwardDeferred(x);
        return add ? cv2.Forward(h, residual: x) : cv2.Forward(h);
    }

    /// Whether x may come deferred (Forward below): without the shortcut, which reads x itself.
    public bool ReadsDeferred => !add;

    public Tensor Forward(DeferredActivation x)
    {
        if (!x.IsDeferred) return Forward(x.Input);
        if (add)
        {
            using var value = x.Computed(); // the shortcut reads x itself
            return Forward(value);
        }
        using var h = cv1.ForwardDeferred(x);
        return cv2.Forward(h);
    }
}
