namespace YoloCore.Cuda;

// binary.cu: elementwise ops of two tensors with broadcasting, and dst += alpha·src.
public sealed unsafe partial class CudaBackend
{
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) =>
        kernel.BinaryForward(Suffix(a, op.ToString()), y.Count, Ptr(a), Ptr(b), Ptr(y), y.Count, (int)op, Walk.Broadcast(y.Shape, a.Shape), Walk.Broadcast(y.Shape, b.Shape));

    public void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb) =>
        kernel.BinaryBackward(Suffix(a, op.ToString()), gy.Count, Ptr(a), Ptr(b), Ptr(gy), PtrOrNull(ga), PtrOrNull(gb), gy.Count, (int)op, Walk.Broadcast(gy.Shape, a.Shape), Walk.Broadcast(gy.Shape, b.Shape));

    public void AddInPlace(Tensor destination, Tensor source, double alpha = 1)
    {
        if (destination.Shape != source.Shape) throw new ArgumentException($"AddInPlace: {destination.Shape} += {source.Shape}");
        kernel.Axpy(Suffix(destination, "AddInPlace"), destination.Count, Ptr(destination), Ptr(source), destination.Count, (float)alpha);
    }
}
