namespace YoloCore.Nn.Yolo;

/// Spatial Pyramid Pooling - Fast: cv1 halves the channels, three chained k×k stride-1 max-pools
/// (equivalent to pools of 5, 9 and 13 for k = 5), concat of the four, cv2.
public sealed class Sppf : EndsInConvBlock
{
    readonly ConvBnSilu cv1, cv2;
    readonly int k;

    public Sppf(int c1, int c2, int k, Rng rng)
    {
        int c = c1 / 2;
        cv1 = RegisterModule("cv1", new ConvBnSilu(c1, c, 1, 1, rng));
        cv2 = RegisterModule("cv2", new ConvBnSilu(c * 4, c2, 1, 1, rng));
        this.k = k;
    }

    protected override ConvBnSilu Last => cv2;

    public override bool ReadsInPlace(Tensor x) => cv1.Defers(x);

    /// cv1(x) and its three pools, side by side.
    protected override DeferredActivation Body(DeferredActivation x)
    {
        var a = cv1.Forward(x);
        var y1 = a.MaxPool2d(k, 1, k / 2);
        var y2 = y1.MaxPool2d(k, 1, k / 2);
        return Joined([.. new[] { a, y1, y2, y2.MaxPool2d(k, 1, k / 2) }.Select(DeferredActivation.Owning)]);
    }
}
