namespace YoloCore.Cuda;

// unary.cu: elementwise functions of one tensor and their derivatives.
public sealed unsafe partial class CudaBackend
{
    public void Unary(UnaryOp op, Tensor x, Tensor y, double a = 0, double b = 0)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(y)).Add(x.Count).Add((int)op).Add((float)a).Add((float)b);
        Launch("unary", "unary_forward_" + Suffix(x, op.ToString()), x.Count, args);
    }

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a = 0, double b = 0)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(y)).Add(Ptr(gy)).Add(Ptr(gx)).Add(x.Count).Add((int)op).Add((float)a).Add((float)b);
        Launch("unary", "unary_backward_" + Suffix(x, op.ToString()), x.Count, args);
    }
}
