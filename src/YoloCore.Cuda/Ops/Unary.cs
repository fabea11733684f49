namespace YoloCore.Cuda;

// unary.cu: elementwise functions of one tensor and their derivatives.
public sealed unsafe partial class CudaBackend
{
    public void Unary(UnaryOp op, Tensor x, Tensor y, double a = 0, double b = 0) =>
        kernel.UnaryForward(Suffix(x, op.ToString()), x.Count, Ptr(x), Ptr(y), x.Count, (int)op, (float)a, (float)b);

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a = 0, double b = 0) =>
        kernel.UnaryBackward(Suffix(x, op.ToString()), x.Count, Ptr(x), Ptr(y), Ptr(gy), Ptr(gx), x.Count, (int)op, (float)a, (float)b);
}
