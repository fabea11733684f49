// batchnorm2d.cu: BatchNorm2d over the rows (N·H·W) of NHWC activations [rows, C]. Activations are T;
// statistics, affine parameters and every sum are float32. Per-channel sums run in two passes with
// a fixed shape (chunk partial sums, then each channel adds its chunks in order), so they are
// deterministic. Training: mean, then centred squares, then bn_train_finalize; the apply kernel
// computes y = x·scale + shift for train and eval alike. BatchNorm + SiLU (YOLOv5's Conv block)
// applies silu(x·scale + shift) instead, and its backward first takes the gradient back through
// SiLU at z recomputed from x, then runs BatchNorm's backward on it.
#include "common.cuh"

// partial[chunk·c + ch] = Σ over the chunk's rows of (a - shift_a[ch])·(b ? b - shift_b[ch] : 1).
// A block is 32 channels × 8 row lanes (256 threads): each warp reads 32 neighbouring channels of
// one row, so loads are coalesced; the 8 lanes are added in shared memory in a fixed order.
template <typename T>
__device__ void channel_partial_sums(const T* a, const T* b, const float* shift_a, const float* shift_b,
    float* partial, i64 rows, int c, int rows_per_chunk)
{
    __shared__ float shared[256];
    int tx = threadIdx.x % 32, ty = threadIdx.x / 32;
    int ch = blockIdx.y * 32 + tx;
    i64 r0 = (i64)blockIdx.x * rows_per_chunk, r1 = min64(rows, r0 + rows_per_chunk);
    float acc = 0.0f;
    if (ch < c)
    {
        float sa = shift_a ? shift_a[ch] : 0.0f, sb = shift_b ? shift_b[ch] : 0.0f;
        for (i64 r = r0 + ty; r < r1; r += 8)
        {
            float v = ld(a, r * c + ch) - sa;
            if (b) v *= ld(b, r * c + ch) - sb;
            acc += v;
        }
    }
    shared[threadIdx.x] = acc;
    __syncthreads();
    if (ty == 0 && ch < c)
    {
        float s = 0.0f;
        for (int k = 0; k < 8; k++) s += shared[k * 32 + tx];
        partial[(i64)blockIdx.x * c + ch] = s;
    }
}

// sums[ch] = Σ_k partial[k·c + ch]: one block per channel, a fixed tree over the chunks.
extern "C" __global__ void __launch_bounds__(256) channel_finalize_sums(const float* partial, float* sums, int chunks, int c)
{
    __shared__ float shared[256];
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x)
    {
        float acc = 0.0f;
        for (int k = threadIdx.x; k < chunks; k += blockDim.x) acc += partial[(i64)k * c + ch];
        float total = block_sum(acc, shared);
        if (threadIdx.x == 0) sums[ch] = total;
    }
}

extern "C" __global__ void bn_mean(const float* sums, float* mean, int c, i64 rows)
{
    GRID_STRIDE(ch, c) mean[ch] = (float)((double)sums[ch] / rows);
}

// From Σ(x - mean)²: inverse std, running statistics (unbiased variance), and the affine map.
extern "C" __global__ void bn_train_finalize(const float* centred_sq, const float* mean, float* invstd,
    float* running_mean, float* running_var, const float* gamma, const float* beta, float* scale, float* shift,
    int c, i64 rows, float momentum, float eps)
{
    GRID_STRIDE(ch, c)
    {
        double var = (double)centred_sq[ch] / rows, inv = 1.0 / sqrt(var + eps);
        invstd[ch] = (float)inv;
        running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean[ch]);
        running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * var * rows / (rows - 1));
        scale[ch] = (float)(gamma[ch] * inv);
        shift[ch] = (float)(beta[ch] - mean[ch] * gamma[ch] * inv);
    }
}

extern "C" __global__ void bn_eval_affine(const float* running_mean, const float* running_var, const float* gamma,
    const float* beta, float* scale, float* shift, int c, float eps)
{
    GRID_STRIDE(ch, c)
    {
        double inv = 1.0 / sqrt((double)running_var[ch] + eps);
        scale[ch] = (float)(gamma[ch] * inv);
        shift[ch] = (float)(beta[ch] - running_mean[ch] * gamma[ch] * inv);
    }
}

template <typename T>
__device__ void bn_apply(const T* x, T* y, const float* scale, const float* shift, i64 n, int c)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)((unsigned int)i % (unsigned int)c); // n < 2^32 (checked on the host): 32-bit modulo is cheap
        st(y, i, ld(x, i) * scale[ch] + shift[ch]);
    }
}

__device__ __forceinline__ float bn_sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

template <typename T>
__device__ void bn_silu_apply(const T* x, T* y, const float* scale, const float* shift, i64 n, int c)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)((unsigned int)i % (unsigned int)c);
        float z = ld(x, i) * scale[ch] + shift[ch];
        st(y, i, z * bn_sigmoid(z));
    }
}

// g = gy·silu'(z) with z = (x - mean)·invstd·γ + β: the gradient at BatchNorm's output.
template <typename T>
__device__ void bn_silu_grad(const T* x, const T* gy, T* g, const float* mean, const float* invstd, const float* gamma,
    const float* beta, i64 n, int c)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)((unsigned int)i % (unsigned int)c);
        float z = (ld(x, i) - mean[ch]) * invstd[ch] * gamma[ch] + beta[ch];
        float s = bn_sigmoid(z);
        st(g, i, ld(gy, i) * s * (1.0f + z * (1.0f - s)));
    }
}

// From Σgy and Σgy·(x - mean): parameter gradients and the coefficients of the input gradient
// gx = k·(gy - m1 - (x - mean)·m2) with k = γσ⁻¹, m1 = Σgy/M, m2 = σ⁻²·Σgy(x - mean)/M.
extern "C" __global__ void bn_backward_coefficients(const float* sum_gy, const float* sum_gy_xc, const float* invstd,
    const float* gamma, float* ggamma, float* gbeta, float* k, float* m1, float* m2, int c, i64 rows)
{
    GRID_STRIDE(ch, c)
    {
        float inv = invstd[ch];
        if (ggamma) ggamma[ch] = sum_gy_xc[ch] * inv;
        if (gbeta) gbeta[ch] = sum_gy[ch];
        k[ch] = gamma[ch] * inv;
        m1[ch] = (float)((double)sum_gy[ch] / rows);
        m2[ch] = (float)((double)inv * inv * sum_gy_xc[ch] / rows);
    }
}

template <typename T>
__device__ void bn_input_grad(const T* x, const T* gy, T* gx, const float* mean, const float* k, const float* m1,
    const float* m2, i64 n, int c)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)((unsigned int)i % (unsigned int)c);
        st(gx, i, k[ch] * (ld(gy, i) - m1[ch] - (ld(x, i) - mean[ch]) * m2[ch]));
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void channel_partial_sums_##S(const T* a, const T* b, const float* sa, const float* sb, float* partial, i64 rows, int c, int rpc) \
        { channel_partial_sums(a, b, sa, sb, partial, rows, c, rpc); } \
    extern "C" __global__ void bn_apply_##S(const T* x, T* y, const float* scale, const float* shift, i64 n, int c) { bn_apply(x, y, scale, shift, n, c); } \
    extern "C" __global__ void bn_silu_apply_##S(const T* x, T* y, const float* scale, const float* shift, i64 n, int c) { bn_silu_apply(x, y, scale, shift, n, c); } \
    extern "C" __global__ void bn_silu_grad_##S(const T* x, const T* gy, T* g, const float* mean, const float* invstd, const float* gamma, const float* beta, i64 n, int c) \
        { bn_silu_grad(x, gy, g, mean, invstd, gamma, beta, n, c); } \
    extern "C" __global__ void bn_input_grad_##S(const T* x, const T* gy, T* gx, const float* mean, const float* k, const float* m1, const float* m2, i64 n, int c) \
        { bn_input_grad(x, gy, gx, mean, k, m1, m2, n, c); }
EXPORT_FLOAT_TYPES(EXPORT)
