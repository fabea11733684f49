using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// upsample.cu: nearest-neighbour upsampling of NHWC by an integer factor.
public sealed unsafe partial class CudaBackend
{
    public void UpsampleNearest(Tensor x, int scale, Tensor y)
    {
        using var args = Args().Add(Ptr(x)).Add(Ptr(y)).Add(y.Count).Add(x.Shape[1]).Add(x.Shape[2]).Add(x.Shape[3]).Add(scale);
        Launch("upsample", "upsample_forward_" + Suffix(x, "UpsampleNearest"), y.Count, args);
    }

    public void UpsampleNearestBackward(Tensor gy, int scale, Tensor gx)
    {
        using var args = Args().Add(Ptr(gy)).Add(Ptr(gx)).Add(gx.Count).Add(gx.Shape[1]).Add(gx.Shape[2]).Add(gx.Shape[3]).Add(scale);
        Launch("upsample", "upsample_backward_" + Suffix(gy, "UpsampleNearest"), gx.Count, args);
    }
}
