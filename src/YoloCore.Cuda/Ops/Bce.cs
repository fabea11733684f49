using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// bce.cu: elementwise binary cross-entropy on logits, with pos_weight, and its gradients.
public sealed unsafe partial class CudaBackend
{
    public void BceWithLogits(Tensor x, Tensor target, double posWeight, Tensor loss) =>
        kernel.BceForward(Suffix(x, "BceWithLogits"), x.Count, Ptr(x), Ptr(target), Ptr(loss), x.Count, (float)posWeight);

    public void BceWithLogitsBackward(Tensor x, Tensor target, double posWeight, Tensor gy, Tensor? gx, Tensor? gtarget) =>
        kernel.BceBackward(Suffix(x, "BceWithLogits"), x.Count, Ptr(x), Ptr(target), Ptr(gy), PtrOrNull(gx), PtrOrNull(gtarget), x.Count, (float)posWeight);
}
