// conv2d.cu: the non-GEMM half of a convolution in NHWC with OHWI weights. im2col unfolds patches
// into Col[(n, oh, ow), (ki, kj, c)] (column order = the OHWI weight's row order), so cuBLAS computes
// Y = Col·Wᵀ; col2im is its adjoint written as a gather (each input element sums the patch entries
// that read it), so no atomics and a deterministic result. n0 is the first image of the group.
#include "common.cuh"

struct ConvGeom
{
    int h, w, cin, ho, wo, kh, kw, sh, sw, ph, pw;
};

// Where the implicit-GEMM forward writes output pixel (n, i, j): at (n, oh + sh·i, ow + sw·j) of
// an N × h × w × cout tensor. The forward itself is {ho, wo, 1, 1, 0, 0, 0}; one phase of a strided
// convolution's input gradient writes every sh-th row and sw-th column of gx. add: added to what
// is there (an input gradient joining what the input's other consumers gave), else stored.
struct OutMap
{
    int h, w, sh, sw, oh, ow, add;
};

#include "batchnorm2d.cuh"
#include "conv2d_implicit.cuh"

// Index arithmetic is 32-bit: the host keeps every group below 2^32 elements, and 64-bit
// division is many times slower than 32-bit on the GPU.
template <typename T>
__device__ void im2col(const T* x, T* col, i64 images, i64 n0, ConvGeom g)
{
    unsigned int k = (unsigned int)(g.kh * g.kw * g.cin), hw = (unsigned int)(g.ho * g.wo);
    GRID_STRIDE(i, images * g.ho * g.wo * (i64)k)
    {
        unsigned int ui = (unsigned int)i, row = ui / k, kk = ui - row * k;
        int c = kk % g.cin, kj = (kk / g.cin) % g.kw, ki = kk / (g.cin * g.kw);
        i64 n = n0 + row / hw;
        int pix = (int)(row % hw), oh = pix / g.wo, ow = pix % g.wo;
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
        unsigned int ui = (unsigned int)i, p = ui / g.cin;
        int c = (int)(ui - p * g.cin);
        int iw = (int)(p % g.w), ih = (int)(p / g.w % g.h);
        i64 nl = p / ((unsigned int)g.w * g.h);
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
    GRID_STRIDE(i, n) st(y, i, ld(y, i) + ld(bias, (unsigned int)i % (unsigned int)c));
}

#define EXPORT(S, T) \
    extern "C" __global__ void im2col_##S(const T* x, T* col, i64 images, i64 n0, ConvGeom g) { im2col(x, col, images, n0, g); } \
    extern "C" __global__ void col2im_##S(const T* col, T* gx, i64 images, i64 n0, ConvGeom g) { col2im(col, gx, images, n0, g); } \
    extern "C" __global__ void add_bias_##S(T* y, const T* bias, i64 n, int c) { add_bias(y, bias, n, c); }
EXPORT_FLOAT_TYPES(EXPORT)

// The implicit-GEMM forward (conv2d_implicit.cuh), float16 only, with 128, 64 or 32 output
// channels per block; grid (⌈m / 128⌉, ⌈cout / that⌉); x has x_channels per pixel (g.cin is them
// padded to a multiple of 8: the stem's 3 are read without a padded copy), or with in.count the
// input comes from XParts (a deferred BatchNorm + SiLU's input, a Concat read in place); bias (or null) is added
// in the epilogue; e (EpilogueSums, e.partial null for none) receives BatchNorm's batch sums. The widest: 128 registers and 40 KB of
// shared memory on sm_80, so two blocks fit on a multiprocessor.
#define EXPORT_CONV_FORWARD(BN, NT) \
    extern "C" __global__ void __launch_bounds__(256, 2) conv_implicit_forward_n##BN##_f16(const f16* x, int x_channels, XParts in, const f16* w, const f16* bias, f16* y, EpilogueSums e, int m_total, int cout, int k_total, ConvGeom g, OutMap om) \
    { \
        __shared__ __align__(128) u16 smem[forward_smem_halves<NT, false>()]; \
        conv_implicit_forward<NT>((const u16*)x, (const u16*)w, (u16*)y, e, m_total, cout, k_total, g, om, here(), smem, FlippedWeights{}, BnGrad{}, (const u16*)bias, x_channels, in); \
    }
EXPORT_CONV_FORWARD(128, 8)
EXPORT_CONV_FORWARD(64, 4)
EXPORT_CONV_FORWARD(32, 2)

// The input gradient's phases: the taps that reach input rows ≡ a phase's (mod sh) and columns
// likewise, flipped and with the channels transposed, make that phase of gx a stride-1 forward
// convolution of gy (for stride 1: one phase, every tap), which the implicit GEMM runs reading the
// layer's weights in that order (FlippedWeights, conv2d_implicit.cuh). Up to 16 phases in one
// launch: the taps (th × tw of them from rh, rw), the phase's rows and columns of gx (hp × wp from
// oh, ow, every sh-th and sw-th) and gy's padding for it (ph, pw).
#define MAX_PHASES 16
struct Phases
{
    int count, rh[MAX_PHASES], rw[MAX_PHASES], th[MAX_PHASES], tw[MAX_PHASES];
    int hp[MAX_PHASES], wp[MAX_PHASES], ph[MAX_PHASES], pw[MAX_PHASES], oh[MAX_PHASES], ow[MAX_PHASES];
};

// Phase p.z's input gradient: the stride-1 convolution of gy [n, c.ho, c.wo, cout] with the
// phase's taps of w [cout, c.kh, c.kw, c.cin] into its rows and columns of gx [n, c.h, c.w, c.cin]
// (added to them with add; with bn.coef gy as BnGrad says; with op.count into the parts of a
// concatenation read in place, OutParts, instead of gx). The grid (dgrad_grid) covers the
// largest phase; a phase with fewer row blocks leaves the rest idle.
template <int NT>
__device__ void conv_implicit_dgrad(const u16* gy, const u16* w, u16* gx, int n, int cout, const ConvGeom& c, const Phases& ph, int add, BnGrad bn, Place p, u16* smem,
    const OutParts& op = OutParts{})
{
    int z = p.z, m = n * ph.hp[z] * ph.wp[z];
    if (p.x * IG_BM >= m) return;
    ConvGeom t = {c.ho, c.wo, cout, ph.hp[z], ph.wp[z], ph.th[z], ph.tw[z], 1, 1, ph.ph[z], ph.pw[z]};
    OutMap om = {c.h, c.w, c.sh, c.sw, ph.oh[z], ph.ow[z], add};
    FlippedWeights f = {w, c.kh, c.kw, c.sh, c.sw, ph.rh[z], ph.rw[z]};
    conv_implicit_forward<NT, true>(gy, w, gx, EpilogueSums{}, m, c.cin, t.kh * t.kw * cout, t, om, p, smem, f, bn, nullptr, 0, XParts{}, op);
}

// The input gradient's grid: row blocks of the largest phase × column blocks of c.cin × phases.
template <int NT>
__device__ Place dgrad_grid(int n, const ConvGeom& c, const Phases& ph)
{
    int m = 0;
    for (int z = 0; z < ph.count; z++) m = imax(m, n * ph.hp[z] * ph.wp[z]);
    return {0, 0, 0, (m + IG_BM - 1) / IG_BM, (c.cin + 16 * NT - 1) / (16 * NT), ph.count};
}

// Every phase's input gradient in one launch, phase blockIdx.z.
#define EXPORT_CONV_DGRAD(BN, NT) \
    extern "C" __global__ void __launch_bounds__(256, 2) conv_implicit_dgrad_n##BN##_f16(const f16* gy, const f16* w, f16* gx, int n, int cout, ConvGeom c, Phases p, int add, BnGrad bn, OutParts op) \
    { \
        __shared__ __align__(128) u16 smem[forward_smem_halves<NT, true>()]; \
        conv_implicit_dgrad<NT>((const u16*)gy, (const u16*)w, (u16*)gx, n, cout, c, p, add, bn, here(), smem, op); \
    }
EXPORT_CONV_DGRAD(128, 8)
EXPORT_CONV_DGRAD(64, 4)
EXPORT_CONV_DGRAD(32, 2)

// The implicit-GEMM weight gradient (conv2d_implicit.cuh): tiles of 128 co × 128 k, or 64 × 256
// for layers with at most 64 output channels; grid (⌈cout / co⌉, ⌈k / k-tile⌉, slices), float32
// partials per slice added up in the same launch into gw (SliceTotals). Activations are
// float16; the suffix names the weight gradient's dtype (float32 where it is the master's).
#define EXPORT_CONV_WGRAD(CO, WM, S, T) \
    extern "C" __global__ void __launch_bounds__(256, 2) conv_implicit_wgrad_co##CO##_##S(const f16* x, int x_channels, XParts in, const f16* gy, float* partial, T* gw, SliceTotals o, int m_total, int cout, int k_total, int m_per_split, ConvGeom g, BnGrad bn) \
    { \
        __shared__ __align__(128) u16 smem[wgrad_smem_halves<WM>()]; \
        conv_implicit_wgrad<WM, T>((const u16*)x, (const u16*)gy, partial, gw, o, m_total, cout, k_total, m_per_split, g, here(), smem, bn, x_channels, in); \
    }
#define EXPORT_CONV_WGRADS(S, T) EXPORT_CONV_WGRAD(128, 4, S, T) EXPORT_CONV_WGRAD(64, 2, S, T)
EXPORT_FLOAT_TYPES(EXPORT_CONV_WGRADS)

// A layer's whole backward in one launch: the input gradient's blocks (dgrad_grid) first, then the
// weight gradient's (⌈cout / co⌉ × ⌈k / k-tile⌉ × ⌈m / m_per_split⌉ slices), side by side on the
// card, both reading gy (or both computing it, BnGrad), the weight gradient x (one part, deferred
// or not: a concatenation's parts take the two launches apart, which keeps this one in its 128
// registers). Needs c.cin % 8 == 0 (no padded channels). The host computes the same
// two grids for the launch's size.
template <int NT, int WM, typename T>
__device__ void conv_implicit_backward(const u16* x, XParts in, const u16* w, const u16* gy, u16* gx, int add, float* partial, T* gw, SliceTotals o,
    int n, int cout, int m_per_split, const ConvGeom& c, const Phases& ph, BnGrad bn, u16* smem)
{
    Place d = dgrad_grid<NT>(n, c, ph);
    int b = blockIdx.x, dgrad_blocks = d.nx * d.ny * d.nz;
    if (b < dgrad_blocks)
    {
        conv_implicit_dgrad<NT>(gy, w, gx, n, cout, c, ph, add, bn, place_of(b, d.nx, d.ny, d.nz), smem);
        return;
    }
    int m = n * c.ho * c.wo, k = c.kh * c.kw * c.cin, co_t = 32 * WM, k_t = 64 * (8 / WM);
    Place p = place_of(b - dgrad_blocks, (cout + co_t - 1) / co_t, (k + k_t - 1) / k_t, (m + m_per_split - 1) / m_per_split);
    conv_implicit_wgrad<WM, T, 1>(x, gy, partial, gw, o, m, cout, k, m_per_split, c, p, smem, bn, 0, in);
}

#define EXPORT_CONV_BACKWARD(BN, NT, CO, WM, S, T) \
    extern "C" __global__ void __launch_bounds__(256, 2) conv_implicit_backward_n##BN##_co##CO##_##S(const f16* x, XParts in, const f16* w, const f16* gy, f16* gx, int add, \
        float* partial, T* gw, SliceTotals o, int n, int cout, int m_per_split, ConvGeom c, Phases p, BnGrad bn) \
    { \
        constexpr int fh = forward_smem_halves<NT, true>(), wh = wgrad_smem_halves<WM>(); \
        __shared__ __align__(128) u16 smem[fh > wh ? fh : wh]; \
        conv_implicit_backward<NT, WM, T>((const u16*)x, in, (const u16*)w, (const u16*)gy, (u16*)gx, add, partial, gw, o, n, cout, m_per_split, c, p, bn, smem); \
    }
#define EXPORT_CONV_BACKWARDS(S, T) \
    EXPORT_CONV_BACKWARD(128, 8, 128, 4, S, T) EXPORT_CONV_BACKWARD(64, 4, 128, 4, S, T) EXPORT_CONV_BACKWARD(32, 2, 128, 4, S, T) \
    EXPORT_CONV_BACKWARD(128, 8, 64, 2, S, T) EXPORT_CONV_BACKWARD(64, 4, 64, 2, S, T) EXPORT_CONV_BACKWARD(32, 2, 64, 2, S, T)
EXPORT_FLOAT_TYPES(EXPORT_CONV_BACKWARDS)

// y[r, c] = c < cx ? x[r, c] : 0 for c < cy: pads channels with zeros (the stem's 3 to the implicit
// GEMM's 8, for the images and the weights).
template <typename T>
__device__ void copy_channels(const T* x, T* y, i64 rows, int cx, int cy)
{
    GRID_STRIDE(i, rows * cy)
    {
        i64 r = i / cy;
        int c = (int)(i - r * cy);
        y[i] = c < cx ? x[r * cx + c] : T{};
    }
}

#define EXPORT_COPY_CHANNELS(S, T) \
    extern "C" __global__ void __launch_bounds__(256) copy_channels_##S(const T* x, T* y, i64 rows, int cx, int cy) { copy_channels(x, y, rows, cx, cy); }
EXPORT_FLOAT_TYPES(EXPORT_COPY_CHANNELS)
