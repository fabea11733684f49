namespace YoloCore.Nn.Yolo;

/// nn.Upsample(None, scale, 'nearest') on NHWC.
public sealed class Upsample(int scale) : Module
{
    public int Scale { get; } = scale;
    public override Tensor Forward(Tensor x) => x.UpsampleNearest(Scale);
}

/// YOLOv5's Concat along the channel axis (dimension 1 in NCHW, the last axis in NHWC). Its inputs
/// come from several layers, so YoloModel calls ForwardMany.
public sealed class Concat : Module
{
    public Tensor ForwardMany(IReadOnlyList<Tensor> xs) => Ops.Concat(xs, -1);
    public override Tensor Forward(Tensor x) => throw new InvalidOperationException("Concat takes several inputs: call ForwardMany");
}
