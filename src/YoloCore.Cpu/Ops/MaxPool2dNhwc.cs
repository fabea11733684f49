using System.Numerics;

namespace YoloCore.Cpu;

// Max-pooling over H, W of NHWC with -inf padding. argmax records, per output, the winning input's
// offset inside its image ((h·W + w)·C + c); backward scatters through it, one image per thread.
public sealed unsafe partial class CpuBackend
{
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax) =>
        Floating(x, "MaxPool2d", () => PoolKernel<float>.Forward(x, g, y, argmax), () => PoolKernel<double>.Forward(x, g, y, argmax));

    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Pool2dGeometry g, Tensor gx) =>
        Floating(gy, "MaxPool2d", () => PoolKernel<float>.Backward(gy, argmax, gx), () => PoolKernel<double>.Backward(gy, argmax, gx));

    static class PoolKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Forward(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax)
        {
            int n = x.Shape[0], h = x.Shape[1], w = x.Shape[2], c = x.Shape[3], ho = y.Shape[1], wo = y.Shape[2];
            T* px = Ptr<T>(x), py = Ptr<T>(y);
            int* pa = Ptr<int>(argmax);
            CpuParallel.For((long)n * ho * wo, 64, (s, e) =>
            {
                var best = new T[c];
                var at = new int[c];
                for (long o = s; o < e; o++)
                {
                    int b = (int)(o / (ho * wo)), oh = (int)(o / wo % ho), ow = (int)(o % wo);
                    Array.Fill(best, T.NegativeInfinity);
                    Array.Fill(at, -1);
                    T* img = px + (long)b * h * w * c;
                    for (int ki = 0; ki < g.Kernel; ki++)
                    {
                        int ih = oh * g.Stride - g.Pad + ki;
                        if ((uint)ih >= (uint)h) continue;
                        for (int kj = 0; kj < g.Kernel; kj++)
                        {
                            int iw = ow * g.Stride - g.Pad + kj;
                            if ((uint)iw >= (uint)w) continue;
                            int off = (ih * w + iw) * c;
                            for (int j = 0; j < c; j++)
                            {
                                T v = img[off + j];
                                // Strict > keeps the first maximum in scan order; NaN propagates.
                                if (v > best[j] || at[j] < 0 || T.IsNaN(v)) { best[j] = v; at[j] = off + j; }
                            }
                        }
                    }
                    for (int j = 0; j < c; j++) { py[o * c + j] = best[j]; pa[o * c + j] = at[j]; }
                }
            });
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
