using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// maxpool2d.cu: max-pooling over H, W of NHWC, with the argmax the backward pass gathers by.
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
        Launch("maxpool2d", "maxpool_forward_" + Suffix(x, "MaxPool2d"), y.Count, args);
    }

    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Pool2dGeometry g, Tensor gx)
    {
        using var args = Args().Add(Ptr(gy)).Add(Ptr(argmax)).Add(Ptr(gx)).Add(gx.Count).Add(Pool(gx.Shape, gy.Shape, g));
        Launch("maxpool2d", "maxpool_backward_" + Suffix(gy, "MaxPool2d"), gx.Count, args);
    }
}
