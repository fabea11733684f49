using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// bce.cu: elementwise binary cross-entropy on logits, with pos_weight, and its gradients.
public sealed unsafe partial class CudaBackend
{
    public void BceWithLogits(Tensor x, Tensor target, double posWeight, Tensor loss)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(target)).Add(Ptr(loss)).Add(x.Count).Add((float)posWeight);
        Launch("bce", "bce_forward_" + Suffix(x, "BceWithLogits"), x.Count, args);
    }

    public void BceWithLogitsBackward(Tensor x, Tensor target, double posWeight, Tensor gy, Tensor? gx, Tensor? gtarget)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(target)).Add(Ptr(gy)).Add(PtrOrNull(gx)).Add(PtrOrNull(gtarget)).Add(x.Count).Add((float)posWeight);
        Launch("bce", "bce_backward_" + Suffix(x, "BceWithLogits"), x.Count, args);
    }
}
