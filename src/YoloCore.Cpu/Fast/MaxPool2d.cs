using System.Numerics;

namespace YoloCore.Cpu;

// The fast tier's max-pooling forward: whole vectors of channels at a time, by the reference's rule
// (first maximum in scan order wins, a NaN replaces the best); the reference's scalar loop still
// handles the channel tail and windows entirely in the padding.
public sealed unsafe partial class CpuBackend
{
    static void FastMaxPool2dForward(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax)
    {
        int n = x.Shape[0], h = x.Shape[1], w = x.Shape[2], c = x.Shape[3], ho = y.Shape[1], wo = y.Shape[2];
        int width = Vector<float>.Count, vectorEnd = c - c % width;
        if (vectorEnd == 0) { PoolKernel<float>.Forward(x, g, y, argmax); return; }
        float* px = Ptr<float>(x), py = Ptr<float>(y);
        int* pa = Ptr<int>(argmax);
        var lanes = Vector<int>.Indices;
        CpuParallel.For((long)n * ho * wo, 64, (s, e) =>
        {
            for (long o = s; o < e; o++)
            {
                int b = (int)(o / (ho * wo)), oh = (int)(o / wo % ho), ow = (int)(o % wo);
                float* img = px + (long)b * h * w * c;
                int h0 = Math.Max(0, oh * g.Stride - g.Pad), h1 = Math.Min(h, oh * g.Stride - g.Pad + g.Kernel);
                int w0 = Math.Max(0, ow * g.Stride - g.Pad), w1 = Math.Min(w, ow * g.Stride - g.Pad + g.Kernel);
                if (h0 >= h1 || w0 >= w1) { PoolKernel<float>.ForwardChannels(img, h, w, c, g, oh, ow, 0, py + o * c, pa + o * c); continue; }
                for (int j = 0; j < vectorEnd; j += width)
                {
                    int first = (h0 * w + w0) * c + j;
                    var best = Vector.Load(img + first);
                    var at = new Vector<int>(first) + lanes;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++)
                        {
                            int off = (ih * w + iw) * c + j;
                            var v = Vector.Load(img + off);
                            var take = Vector.AsVectorInt32(Vector.GreaterThan(v, best) | ~Vector.Equals(v, v));
                            best = Vector.ConditionalSelect(Vector.AsVectorSingle(take), v, best);
                            at = Vector.ConditionalSelect(take, new Vector<int>(off) + lanes, at);
                        }
                    best.Store(py + o * c + j);
                    at.Store(pa + o * c + j);
                }
                if (vectorEnd < c) PoolKernel<float>.ForwardChannels(img, h, w, c, g, oh, ow, vectorEnd, py + o * c, pa + o * c);
            }
        });
    }
}
