using System.Numerics;

namespace YoloCore.Cpu;

// Max-pooling over H, W of NHWC with -inf padding. argmax records, per output, the winning input's
// offset inside its image ((h·W + w)·C + c); backward scatters through it, one image per thread.
public sealed unsafe partial class CpuBackend
{
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax) =>
        Floating(x, "MaxPool2d", () => { if (UseFast(x)) FastMaxPool2dForward(x, g, y, argmax); else PoolKernel<float>.Forward(x, g, y, argmax); },
            () => PoolKernel<double>.Forward(x, g, y, argmax));

    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Pool2dGeometry g, Tensor gx, bool addToGx = false)
    {
        if (addToGx) AddWritten(gx, own => MaxPool2dBackward(gy, argmax, g, own));
        else Floating(gy, "MaxPool2d", () => PoolKernel<float>.Backward(gy, argmax, gx), () => PoolKernel<double>.Backward(gy, argmax, gx));
    }

    static class PoolKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Forward(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax)
        {
            int n = x.Shape[0], h = x.Shape[1], w = x.Shape[2], c = x.Shape[3], ho = y.Shape[1], wo = y.Shape[2];
            T* px = Ptr<T>(x), py = Ptr<T>(y);
            int* pa = Ptr<int>(argmax);
            CpuParallel.For((long)n * ho * wo, 64, (s, e) =>
            {
                for (long o = s; o < e; o++)
                {
                    int b = (int)(o / (ho * wo)), oh = (int)(o / wo % ho), ow = (int)(o % wo);
                    ForwardChannels(px + (long)b * h * w * c, h, w, c, g, oh, ow, 0, py + o * c, pa + o * c);
                }
            });
        }

        /// One output position, channels from..c-1: y and at point at that position's c values.
        public static void ForwardChannels(T* img, int h, int w, int c, Pool2dGeometry g, int oh, int ow, int from, T* y, int* at)
        {
            for (int j = from; j < c; j++) { y[j] = T.NegativeInfinity; at[j] = -1; }
            for (int ki = 0; ki < g.Kernel; ki++)
            {
                int ih = oh * g.Stride - g.Pad + ki;
                if ((uint)ih >= (uint)h) continue;
                for (int kj = 0; kj < g.Kernel; kj++)
                {
                    int iw = ow * g.Stride - g.Pad + kj;
                    if ((uint)iw >= (uint)w) continue;
                    int off = (ih * w + iw) * c;
                    for (int j = from; j < c; j++)
                    {
                        T v = img[off + j];
                        // Strict > keeps the first maximum in scan order; NaN propagates.
                        if (v > y[j] || at[j] < 0 || T.IsNaN(v)) { y[j] = v; at[j] = off + j; }
                    }
                }
            }
        }

        public static void Backward(Tensor gy, Tensor argmax, Tensor gx)
        {
            int n = gx.Shape[0];
            long perIn = gx.Count / n, perOut = gy.Count / n;
            T* pgy = Ptr<T>(gy), pgx = Ptr<T>(gx);
            int* pa = Ptr<int>(argmax);
            CpuParallel.For(n, 1, (s, e) =>
            {
                for (long b = s; b < e; b++)
                {
                    T* dst = pgx + b * perIn;
                    new Span<T>(dst, (int)perIn).Clear();
                    for (long o = 0; o < perOut; o++) dst[pa[b * perOut + o]] += pgy[b * perOut + o];
                }
            });
        }
    }
}
