namespace YoloCore.Cuda;

// binary.cu: elementwise ops of two tensors with broadcasting, and dst += alpha·src.
public sealed unsafe partial class CudaBackend
{
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        using var args = Args().Add(Ptr(a)).Add(Ptr(b)).Add(Ptr(y)).Add(y.Count).Add((int)op)
            .Add(Walk.Broadcast(y.Shape, a.Shape)).Add(Walk.Broadcast(y.Shape, b.Shape));
        Launch("binary", "binary_forward_" + Suffix(a, op.ToString()), y.Count, args);
    }

    public void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb)
    {
        using var args = Args().Add(Ptr(a)).Add(Ptr(b)).Add(Ptr(gy)).Add(PtrOrNull(ga)).Add(PtrOrNull(gb)).Add(gy.Count).Add((int)op)
            .Add(Walk.Broadcast(gy.Shape, a.Shape)).Add(Walk.Broadcast(gy.Shape, b.Shape));
        Launch("binary", "binary_backward_" + Suffix(a, op.ToString()), gy.Count, args);
    }

    public void AddInPlace(Tensor destination, Tensor source, double alpha = 1)
    {
        if (destination.Shape != source.Shape) throw new ArgumentException($"AddInPlace: {destination.Shape} += {source.Shape}");
        using var args = Args().Add(Ptr(destination)).Add(Ptr(source)).Add(destination.Count).Add((float)alpha);
        Launch("binary", "axpy_" + Suffix(destination, "AddInPlace"), destination.Count, args);
    }
}
