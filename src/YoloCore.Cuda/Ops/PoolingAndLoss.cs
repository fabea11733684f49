using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// pool.cu (max-pool, nearest upsample), loss.cu (BCE on logits), optimizer.cu (SGD, Adam).
public sealed unsafe partial class CudaBackend
{
    [StructLayout(LayoutKind.Sequential)]
    struct PoolGeom
    {
        public int H, W, C, Ho, Wo, K, S, P;
    }

    static PoolGeom Pool(Shape x, Shape y, Pool2dGeometry g) => new()
    {
        H = x[1], W = x[2], C = x[3], Ho = y[1], Wo = y[2], K = g.Kernel, S = g.Stride, P = g.Pad,
    };

    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(y)).Add(Ptr(argmax)).Add(y.Count).Add(Pool(x.Shape, y.Shape, g));
        Launch("pool", "maxpool_forward_" + Suffix(x, "MaxPool2d"), y.Count, args);
    }

    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Pool2dGeometry g, Tensor gx)
    {
        using var args = Args().Add(Ptr(gy)).Add(Ptr(argmax)).Add(Ptr(gx)).Add(gx.Count).Add(Pool(gx.Shape, gy.Shape, g));
        Launch("pool", "maxpool_backward_" + Suffix(gy, "MaxPool2d"), gx.Count, args);
    }

    public void UpsampleNearest(Tensor x, int scale, Tensor y)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(y)).Add(y.Count).Add(x.Shape[1]).Add(x.Shape[2]).Add(x.Shape[3]).Add(scale);
        Launch("pool", "upsample_forward_" + Suffix(x, "UpsampleNearest"), y.Count, args);
    }

    public void UpsampleNearestBackward(Tensor gy, int scale, Tensor gx)
    {
        using var args = Args().Add(Ptr(gy)).Add(Ptr(gx)).Add(gx.Count).Add(gx.Shape[1]).Add(gx.Shape[2]).Add(gx.Shape[3]).Add(scale);
        Launch("pool", "upsample_backward_" + Suffix(gy, "UpsampleNearest"), gx.Count, args);
    }

    public void BceWithLogits(Tensor x, Tensor target, double posWeight, Tensor loss)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(target)).Add(Ptr(loss)).Add(x.Count).Add((float)posWeight);
        Launch("loss", "bce_forward_" + Suffix(x, "BceWithLogits"), x.Count, args);
    }

    public void BceWithLogitsBackward(Tensor x, Tensor target, double posWeight, Tensor gy, Tensor? gx, Tensor? gtarget)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(target)).Add(Ptr(gy)).Add(PtrOrNull(gx)).Add(PtrOrNull(gtarget)).Add(x.Count).Add((float)posWeight);
        Launch("loss", "bce_backward_" + Suffix(x, "BceWithLogits"), x.Count, args);
    }

    static void RequireMaster(Tensor p, string op)
    {
        if (p.DType != DType.Float32) throw new ArgumentException($"{op} updates float32 master weights on CUDA, got {p}");
    }

    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay, bool nesterov)
    {
        RequireMaster(param, "SgdStep");
        using var args = Args().Add(Ptr(param)).Add(Ptr(grad)).Add(PtrOrNull(momentumBuffer)).Add(param.Count)
            .Add((float)lr).Add((float)momentum).Add((float)weightDecay).Add(nesterov ? 1 : 0);
        Launch("optimizer", "sgd_step_" + Suffix(grad, "SgdStep"), param.Count, args);
    }

    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
        double weightDecay, bool decoupled, int step)
    {
        RequireMaster(param, "AdamStep");
        float bc1 = (float)(1 - Math.Pow(beta1, step)), bc2 = (float)(1 - Math.Pow(beta2, step));
        using var args = Args().Add(Ptr(param)).Add(Ptr(grad)).Add(Ptr(m)).Add(Ptr(v)).Add(param.Count).Add((float)lr).Add((float)beta1)
            .Add((float)beta2).Add((float)eps).Add((float)weightDecay).Add(decoupled ? 1 : 0).Add(bc1).Add(bc2);
        Launch("optimizer", "adam_step_" + Suffix(grad, "AdamStep"), param.Count, args);
    }


}
