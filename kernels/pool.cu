// pool.cu: max-pooling over H, W of NHWC with -inf padding, and nearest upsampling. argmax holds
// the winning input's offset inside its image ((h·W + w)·C + c). Both backward passes are gathers
// (each input element collects from the outputs that read it), deterministic and atomic-free.
#include "common.cuh"

struct PoolGeom
{
    int h, w, c, ho, wo, k, s, p;
};

template <typename T>
__device__ void maxpool_forward(const T* x, T* y, int* argmax, i64 n, PoolGeom g)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)(i % g.c);
        i64 o = i / g.c;
        int ow = (int)(o % g.wo), oh = (int)(o / g.wo % g.ho);
        i64 b = o / ((i64)g.wo * g.ho);
        const T* img = x + b * g.h * g.w * g.c;
        float best = neg_infinity();
        int at = -1;
        for (int ki = 0; ki < g.k; ki++)
        {
            int ih = oh * g.s - g.p + ki;
            if (ih < 0 || ih >= g.h) continue;
            for (int kj = 0; kj < g.k; kj++)
            {
                int iw = ow * g.s - g.p + kj;
                if (iw < 0 || iw >= g.w) continue;
                int off = (ih * g.w + iw) * g.c + ch;
                float v = ld(img, off);
                if (v > best || at < 0 || v != v) { best = v; at = off; }
            }
        }
        st(y, i, best);
        argmax[i] = at;
    }
}

template <typename T>
__device__ void maxpool_backward(const T* gy, const int* argmax, T* gx, i64 n, PoolGeom g)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)(i % g.c);
        i64 p = i / g.c;
        int iw = (int)(p % g.w), ih = (int)(p / g.w % g.h);
        i64 b = p / ((i64)g.w * g.h);
        int self = (ih * g.w + iw) * g.c + ch;
        float acc = 0.0f;
        // Outputs whose window covers (ih, iw): oh·s - p ≤ ih ≤ oh·s - p + k - 1.
        int oh0 = imax(0, (ih + g.p - g.k + g.s) / g.s), oh1 = imin(g.ho - 1, (ih + g.p) / g.s);
        int ow0 = imax(0, (iw + g.p - g.k + g.s) / g.s), ow1 = imin(g.wo - 1, (iw + g.p) / g.s);
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++)
            {
                i64 o = ((b * g.ho + oh) * g.wo + ow) * g.c + ch;
                if (argmax[o] == self) acc += ld(gy, o);
            }
        st(gx, i, acc);
    }
}

template <typename T>
__device__ void upsample_forward(const T* x, T* y, i64 n, int h, int w, int c, int scale)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)(i % c);
        i64 p = i / c;
        int ow = (int)(p % (w * scale)), oh = (int)(p / (w * scale) % (h * scale));
        i64 b = p / ((i64)w * scale * h * scale);
        st(y, i, ld(x, ((b * h + oh / scale) * w + ow / scale) * c + ch));
    }
}

template <typename T>
__device__ void upsample_backward(const T* gy, T* gx, i64 n, int h, int w, int c, int scale)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)(i % c);
        i64 p = i / c;
        int iw = (int)(p % w), ih = (int)(p / w % h);
        i64 b = p / ((i64)w * h);
        float acc = 0.0f;
        for (int a = 0; a < scale; a++)
            for (int d = 0; d < scale; d++)
                acc += ld(gy, ((b * h * scale + ih * scale + a) * (i64)(w * scale) + iw * scale + d) * c + ch);
        st(gx, i, acc);
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void maxpool_forward_##S(const T* x, T* y, int* argmax, i64 n, PoolGeom g) { maxpool_forward(x, y, argmax, n, g); } \
    extern "C" __global__ void maxpool_backward_##S(const T* gy, const int* argmax, T* gx, i64 n, PoolGeom g) { maxpool_backward(gy, argmax, gx, n, g); } \
    extern "C" __global__ void upsample_forward_##S(const T* x, T* y, i64 n, int h, int w, int c, int scale) { upsample_forward(x, y, n, h, w, c, scale); } \
    extern "C" __global__ void upsample_backward_##S(const T* gy, T* gx, i64 n, int h, int w, int c, int scale) { upsample_backward(gy, gx, n, h, w, c, scale); }
EXPORT_FLOAT_TYPES(EXPORT)
