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
        using var args = Args().Add(Ptr(param)).Add(Ptr(grad)).Add(Ptr(m)).Add(Ptr(v)).Add(param.Count).Add((float)lr).Add((float)beta1)
            .Add((float)beta2).Add((float)eps).Add((float)weightDecay).Add(decoupled ? 1 : 0).Add(bc1).Add(bc2);
        Launch("adam", "adam_step_" + Suffix(grad, "AdamStep"), param.Count, args);
    }
}
