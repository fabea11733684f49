using System.Numerics;

namespace YoloCore.Cpu;

// Nearest-neighbour upsampling of NHWC by an integer factor s: y[n, h, w, :] = x[n, h/s, w/s, :],
// a copy of C contiguous values per output pixel. Backward sums each s×s block.
public sealed unsafe partial class CpuBackend
{
    public void UpsampleNearest(Tensor x, int scale, Tensor y)
    {
        int c = x.Shape[3], ho = y.Shape[1], wo = y.Shape[2], h = x.Shape[1], w = x.Shape[2];
        long rowBytes = (long)c * x.DType.SizeOf();
        byte* px = (byte*)Raw(x), py = (byte*)Raw(y);
        CpuParallel.For((long)y.Shape[0] * ho, 8, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                long n = r / ho, oh = r % ho;
                byte* src = px + (n * h + oh / scale) * w * rowBytes;
                byte* dst = py + r * wo * rowBytes;
                for (int ow = 0; ow < wo; ow++) Buffer.MemoryCopy(src + ow / scale * rowBytes, dst + ow * rowBytes, rowBytes, rowBytes);
            }
        });
    }

    public void UpsampleNearestBackward(Tensor gy, int scale, Tensor gx, bool addToGx = false)
    {
        if (addToGx) AddWritten(gx, own => UpsampleNearestBackward(gy, scale, own));
        else Floating(gy, "UpsampleNearest", () => UpsampleBackward<float>(gy, scale, gx), () => UpsampleBackward<double>(gy, scale, gx));
    }

    static void UpsampleBackward<T>(Tensor gy, int scale, Tensor gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = gx.Shape[3], h = gx.Shape[1], w = gx.Shape[2], wo = gy.Shape[2];
        T* pgy = Ptr<T>(gy), pgx = Ptr<T>(gx);
        CpuParallel.For((long)gx.Shape[0] * h * w, 64, (s, e) =>
        {
            for (long p = s; p < e; p++)
            {
                long n = p / (h * w);
                int ih = (int)(p / w % h), iw = (int)(p % w);
                var dst = new Span<T>(pgx + p * c, c);
                dst.Clear();
                for (int i = 0; i < scale; i++)
                    for (int j = 0; j < scale; j++)
                    {
                        T* src = pgy + ((n * h * scale + ih * scale + i) * wo + iw * scale + j) * c;
                        for (int k = 0; k < c; k++) dst[k] += src[k];
                    }
            }
        });
    }
}
