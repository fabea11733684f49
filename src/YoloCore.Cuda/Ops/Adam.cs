using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// adam.cu: one Adam/AdamW update of one float32 master parameter.
public sealed unsafe partial class CudaBackend
{
    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
        double weightDecay, bool decoupled, int step)
    {
        RequireMaster(param, "AdamStep");
        float bc1 = (float)(1 - Math.Pow(beta1, step)), bc2 = (float)(1 - Math.Pow(beta2, step));
        kernel.AdamStep(Suffix(grad, "AdamStep"), param.Count, Ptr(param), Ptr(grad), Ptr(m), Ptr(v), param.Count, (float)lr, (float)beta1, (float)beta2, (float)eps, (float)weightDecay, decoupled ? 1 : 0, bc1, bc2);
    }
}
