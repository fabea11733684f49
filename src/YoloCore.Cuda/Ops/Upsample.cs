using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// upsample.cu: nearest-neighbour upsampling of NHWC by an integer factor.
public sealed unsafe partial class CudaBackend
{
    public void UpsampleNearest(Tensor x, int scale, Tensor y) =>
        kernel.UpsampleForward(Suffix(x, "UpsampleNearest"), y.Count, Ptr(x), Ptr(y), y.Count, x.Shape[1], x.Shape[2], x.Shape[3], scale);

    public void UpsampleNearestBackward(Tensor gy, int scale, Tensor gx, bool addToGx = false) =>
        kernel.UpsampleBackward(Suffix(gy, "UpsampleNearest"), gx.Count, Ptr(gy), Ptr(gx), gx.Count, gx.Shape[1], gx.Shape[2], gx.Shape[3], scale, addToGx ? 1 : 0);
}
