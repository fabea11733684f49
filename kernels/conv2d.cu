// conv2d.cu: the non-GEMM half of a convolution in NHWC with OHWI weights. im2col unfolds patches
// into Col[(n, oh, ow), (ki, kj, c)] (column order = the OHWI weight's row order), so cuBLAS computes
// Y = Col·Wᵀ; col2im is its adjoint written as a gather (each input element sums the patch entries
// that read it), so no atomics and a deterministic result. n0 is the first image of the group.
#include "common.cuh"

struct ConvGeom
{
    int h, w, cin, ho, wo, kh, kw, sh, sw, ph, pw;
};

template <typename T>
__device__ void im2col(const T* x, T* col, i64 images, i64 n0, ConvGeom g)
{
    i64 k = (i64)g.kh * g.kw * g.cin;
    GRID_STRIDE(i, images * g.ho * g.wo * k)
    {
        i64 row = i / k;
        int kk = (int)(i % k);
        int c = kk % g.cin, kj = (kk / g.cin) % g.kw, ki = kk / (g.cin * g.kw);
        i64 n = n0 + row / (g.ho * g.wo);
        int pix = (int)(row % (g.ho * g.wo)), oh = pix / g.wo, ow = pix % g.wo;
        int ih = oh * g.sh - g.ph + ki, iw = ow * g.sw - g.pw + kj;
        float v = (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) ? ld(x, ((n * g.h + ih) * g.w + iw) * g.cin + c) : 0.0f;
        st(col, i, v);
    }
}

template <typename T>
__device__ void col2im(const T* col, T* gx, i64 images, i64 n0, ConvGeom g)
{
    i64 k = (i64)g.kh * g.kw * g.cin;
    GRID_STRIDE(i, images * g.h * g.w * g.cin)
    {
        int c = (int)(i % g.cin);
        i64 p = i / g.cin;
        int iw = (int)(p % g.w), ih = (int)(p / g.w % g.h);
        i64 nl = p / ((i64)g.w * g.h);
        float acc = 0.0f;
        for (int ki = 0; ki < g.kh; ki++)
        {
            int th = ih + g.ph - ki;
            if (th < 0 || th % g.sh != 0 || th / g.sh >= g.ho) continue;
            int oh = th / g.sh;
            for (int kj = 0; kj < g.kw; kj++)
            {
                int tw = iw + g.pw - kj;
                if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.wo) continue;
                int ow = tw / g.sw;
                acc += ld(col, ((nl * g.ho + oh) * g.wo + ow) * k + (ki * g.kw + kj) * g.cin + c);
            }
        }
        st(gx, (n0 * g.h * g.w * g.cin) + i, acc);
    }
}

template <typename T>
__device__ void add_bias(T* y, const T* bias, i64 n, int c)
{
    GRID_STRIDE(i, n) st(y, i, ld(y, i) + ld(bias, i % c));
}

#define EXPORT(S, T) \
    extern "C" __global__ void im2col_##S(const T* x, T* col, i64 images, i64 n0, ConvGeom g) { im2col(x, col, images, n0, g); } \
    extern "C" __global__ void col2im_##S(const T* col, T* gx, i64 images, i64 n0, ConvGeom g) { col2im(col, gx, images, n0, g); } \
    extern "C" __global__ void add_bias_##S(T* y, const T* bias, i64 n, int c) { add_bias(y, bias, n, c); }
EXPORT_FLOAT_TYPES(EXPORT)
