// maxpool2d.cu: max-pooling over H, W of NHWC with -inf padding. argmax holds the winning input's
// offset inside its image ((h·W + w)·C + c). The backward pass is a gather (each input element
// collects from the outputs whose window won on it): deterministic and atomic-free.
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
__device__ void maxpool_backward(const T* gy, const int* argmax, T* gx, i64 n, PoolGeom g, int add)
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
        st(gx, i, add ? ld(gx, i) + acc : acc); // add: into what gx's other consumers gave
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void maxpool_forward_##S(const T* x, T* y, int* argmax, i64 n, PoolGeom g) { maxpool_forward(x, y, argmax, n, g); } \
    extern "C" __global__ void maxpool_backward_##S(const T* gy, const int* argmax, T* gx, i64 n, PoolGeom g, int add) { maxpool_backward(gy, argmax, gx, n, g, add); }
EXPORT_FLOAT_TYPES(EXPORT)
