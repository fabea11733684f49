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

    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax) =>
        kernel.MaxpoolForward(Suffix(x, "MaxPool2d"), y.Count, Ptr(x), Ptr(y), Ptr(argmax), y.Count, Pool(x.Shape, y.Shape, g));

    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Pool2dGeometry g, Tensor gx, bool addToGx = false) =>
        kernel.MaxpoolBackward(Suffix(gy, "MaxPool2d"), gx.Count, Ptr(gy), Ptr(argmax), Ptr(gx), gx.Count, Pool(gx.Shape, gy.Shape, g), addToGx ? 1 : 0);
}
