using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// sgd.cu: one SGD update of one float32 master parameter (the master-weight check is shared
// with Adam and the multi-tensor SGD).
public sealed unsafe partial class CudaBackend
{
    static void RequireMaster(Tensor p, string op)
    {
        if (p.DType != DType.Float32) throw new ArgumentException($"{op} updates float32 master weights on CUDA, got {p}");
    }

    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay, bool nesterov)
    {
        RequireMaster(param, "SgdStep");
        kernel.SgdStep(Suffix(grad, "SgdStep"), param.Count, Ptr(param), Ptr(grad), PtrOrNull(momentumBuffer), param.Count, (float)lr, (float)momentum, (float)weightDecay, nesterov ? 1 : 0);
    }
}
