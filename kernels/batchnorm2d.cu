// batchnorm2d.cu: BatchNorm2d over the rows (N·H·W) of NHWC activations [rows, C]. Activations are T;
// statistics and affine parameters are float32, the batch sums float64. Per-channel sums run in
// one launch with a fixed shape (float32 partial sums per chunk of rows, then the last block adds
// each channel's chunks in double in a fixed order), so they are deterministic. Training reads x once for its
// batch sums, Σx and Σx² (or takes them from the convolution's epilogue, conv2d_implicit.cuh),
// and one kernel turns them into the statistics and applies y = x·scale + shift; eval applies the
// running statistics' map. BatchNorm + SiLU (YOLOv5's Conv block) applies silu(x·scale + shift)
// instead. Backward reads x and gy twice: once for Σg and Σg·(x - mean), once for gx (here, or
// in the convolution's loads that need it, batchnorm2d.cuh), where g is gy or, after SiLU,
// gy·silu'(z) recomputed from x (never stored).
#include "common.cuh"
#include "batchnorm2d.cuh"

// Per-channel sums run on a grid of chunks of rows × groups of 32 channels. A block is 32
// channels × 8 row lanes (256 threads): each warp reads 32 neighbouring channels of one row, so
// loads are coalesced; the 8 lanes are added in shared memory in a fixed order into the chunk's
// partial. The last block of each channel group to finish (last_to_arrive, common.cuh) adds the
// chunks' partials in double, also in a fixed order, and finishes the job: one launch.
#define CHANNEL_BLOCK_SETUP \
    int tx = threadIdx.x % 32, ty = threadIdx.x / 32; \
    int ch = blockIdx.y * 32 + tx; \
    i64 r0 = (i64)blockIdx.x * rows_per_chunk, r1 = min64(rows, r0 + rows_per_chunk);

// Adds the 8 row lanes of sum j in order and writes the chunk's partial: chunk-major,
// partial[(chunk·sums + j)·c + ch], so that both this store and chunks_total's loads are coalesced.
__device__ __forceinline__ void channel_lanes_store(float acc, int j, int sums, float* shared, float* partial, int c, int ch, int tx, int ty)
{
    shared[threadIdx.x] = acc;
    __syncthreads();
    if (ty == 0 && ch < c)
    {
        float s = 0.0f;
        for (int k = 0; k < 8; k++) s += shared[k * 32 + tx];
        partial[((i64)blockIdx.x * sums + j) * c + ch] = s;
    }
    __syncthreads();
}

// In the last block: sum j of channel ch over every chunk, in double, valid where ty == 0. Thread
// (tx, ty) adds chunks ty, ty + 8, ... (a warp reads 32 neighbouring channels of one chunk), then
// the 8 lanes are added in order.
__device__ double chunks_total(const float* partial, int j, int sums, int c, int ch, int tx, int ty)
{
    __shared__ double shared[256];
    double acc = 0.0;
    if (ch < c)
        for (int k = ty; k < (int)gridDim.x; k += 8) acc += ld_cg(partial + ((i64)k * sums + j) * c + ch);
    shared[threadIdx.x] = acc;
    __syncthreads();
    double total = 0.0;
    if (ty == 0)
        for (int l = 0; l < 8; l++) total += shared[l * 32 + tx];
    __syncthreads();
    return total;
}

// Σa per channel into sums (bias gradients, SumTo onto a channel vector).
template <typename T>
__device__ void channel_sums(const T* a, float* partial, u32* tickets, float* sums, i64 rows, int c, int rows_per_chunk)
{
    __shared__ float shared[256];
    CHANNEL_BLOCK_SETUP
    float acc = 0.0f;
    if (ch < c)
        for (i64 r = r0 + ty; r < r1; r += 8) acc += ld(a, r * c + ch);
    channel_lanes_store(acc, 0, 1, shared, partial, c, ch, tx, ty);
    if (!last_to_arrive(tickets + blockIdx.y, gridDim.x)) return;
    double total = chunks_total(partial, 0, 1, c, ch, tx, ty);
    if (ty == 0 && ch < c) sums[ch] = (float)total;
}

// BatchNorm's batch sums: Σx into sums[ch], Σx² into sums[c + ch] (float64).
template <typename T>
__device__ void bn_sums(const T* x, float* partial, u32* tickets, double* sums, i64 rows, int c, int rows_per_chunk)
{
    __shared__ float shared[256];
    CHANNEL_BLOCK_SETUP
    float s = 0.0f, q = 0.0f;
    if (ch < c)
        for (i64 r = r0 + ty; r < r1; r += 8)
        {
            float v = ld(x, r * c + ch);
            s += v;
            q += v * v;
        }
    channel_lanes_store(s, 0, 2, shared, partial, c, ch, tx, ty);
    channel_lanes_store(q, 1, 2, shared, partial, c, ch, tx, ty);
    if (!last_to_arrive(tickets + blockIdx.y, gridDim.x)) return;
    double sx = chunks_total(partial, 0, 2, c, ch, tx, ty), sxx = chunks_total(partial, 1, 2, c, ch, tx, ty);
    if (ty == 0 && ch < c)
    {
        sums[ch] = sx;
        sums[c + ch] = sxx;
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

// y = x·scale + shift per channel: eval with the running statistics' map (bn_eval_affine), or
// with SiLU a Conv block's deferred output computed from its map (bn_silu_statistics).
template <typename T, bool SILU>
__device__ void bn_apply(const T* x, T* y, const float* scale, const float* shift, i64 n, int c)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)((unsigned int)i % (unsigned int)c); // n < 2^32 (checked on the host): 32-bit modulo is cheap
        float z = ld(x, i) * scale[ch] + shift[ch];
        st(y, i, SILU ? z * bn_sigmoid(z) : z);
    }
}

// A Conv block whose BatchNorm + SiLU its reader applies (Ops.ConvBatchNormSiluDeferred), where
// the convolution's epilogue did not finish the statistics itself: BnStatistics from the sums.
extern "C" __global__ void bn_silu_statistics(const double* sums, i64 rows, int c, BnStatistics s)
{
    GRID_STRIDE(ch, c) bn_statistics((int)ch, sums, rows, c, s);
}

// Training's apply with the finalize folded in, on the chunk grid of the partial kernels: each
// block turns its 32 channels' batch sums into the affine map (bn_affine), the first chunk's
// blocks also keeping the statistics, then applies it to its rows: one launch where a finalize and an apply took
// two. residual (or null) is added after the activation: a Bottleneck's shortcut in the same pass.
template <typename T, bool SILU>
__device__ void bn_train_apply(const T* x, const T* residual, T* y, const double* sums, float* mean, float* invstd, float* running_mean,
    float* running_var, const float* gamma, const float* beta, i64 rows, int c, int rows_per_chunk, float momentum, float eps)
{
    __shared__ float scale[32], shift[32];
    CHANNEL_BLOCK_SETUP
    if (ty == 0 && ch < c)
    {
        BnMoments s = bn_affine(ch, sums, rows, c, gamma, beta, eps, scale[tx], shift[tx]);
        if (blockIdx.x == 0) bn_keep_statistics(ch, s, rows, eps, momentum, mean, invstd, running_mean, running_var);
    }
    __syncthreads();
    if (ch >= c) return;
    float a = scale[tx], b = shift[tx];
    for (i64 r = r0 + ty; r < r1; r += 8)
    {
        float z = ld(x, r * c + ch) * a + b, v = SILU ? z * bn_sigmoid(z) : z;
        st(y, r * c + ch, residual ? v + ld(residual, r * c + ch) : v);
    }
}

// Backward's sums, Σg and Σg·(x - mean) per channel with g as bn_output_grad gives it, then in the
// last block the parameter gradients and the input gradient's coefficients (batchnorm2d.cuh;
// beta may be null without SiLU): one launch where partials, their reduction and the
// coefficients took two.
template <typename T, bool SILU>
__device__ void bn_backward_reduce(const T* x, const T* gy, const float* mean, const float* invstd, const float* gamma, const float* beta,
    float* partial, u32* tickets, float* ggamma, float* gbeta, float* coef, i64 rows, int c, int rows_per_chunk)
{
    __shared__ float shared[256];
    CHANNEL_BLOCK_SETUP
    float s = 0.0f, p = 0.0f;
    if (ch < c)
    {
        float mu = mean[ch], a = invstd[ch] * gamma[ch], b = SILU ? beta[ch] : 0.0f;
        for (i64 r = r0 + ty; r < r1; r += 8)
        {
            float xc = ld(x, r * c + ch) - mu, g = bn_output_grad<SILU>(ld(gy, r * c + ch), xc, a, b);
            s += g;
            p += g * xc;
        }
    }
    channel_lanes_store(s, 0, 2, shared, partial, c, ch, tx, ty);
    channel_lanes_store(p, 1, 2, shared, partial, c, ch, tx, ty);
    if (!last_to_arrive(tickets + blockIdx.y, gridDim.x)) return;
    double sum_g = chunks_total(partial, 0, 2, c, ch, tx, ty), sum_g_xc = chunks_total(partial, 1, 2, c, ch, tx, ty);
    if (ty != 0 || ch >= c) return;
    double inv = invstd[ch];
    if (ggamma) ggamma[ch] = (float)(sum_g_xc * inv);
    if (gbeta) gbeta[ch] = (float)sum_g;
    float* out = coef + (i64)ch * BN_COEFS;
    out[0] = mean[ch];
    out[1] = invstd[ch] * gamma[ch];
    out[2] = SILU ? beta[ch] : 0.0f;
    out[3] = (float)(gamma[ch] * inv);
    out[4] = (float)(sum_g / rows);
    out[5] = (float)(inv * inv * sum_g_xc / rows);
    out[6] = out[7] = 0.0f;
}

template <typename T, bool SILU>
__device__ void bn_input_grad(const T* x, const T* gy, T* gx, const float* coef, i64 n, int c)
{
    GRID_STRIDE(i, n)
    {
        int ch = (int)((unsigned int)i % (unsigned int)c);
        st(gx, i, bn_input_grad_at<SILU>(ld(gy, i), ld(x, i), coef + (i64)ch * BN_COEFS));
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void __launch_bounds__(256) channel_sums_##S(const T* a, float* partial, u32* tickets, float* sums, i64 rows, int c, int rpc) { channel_sums(a, partial, tickets, sums, rows, c, rpc); } \
    extern "C" __global__ void __launch_bounds__(256) bn_sums_##S(const T* x, float* partial, u32* tickets, double* sums, i64 rows, int c, int rpc) { bn_sums(x, partial, tickets, sums, rows, c, rpc); } \
    extern "C" __global__ void bn_apply_##S(const T* x, T* y, const float* scale, const float* shift, i64 n, int c) { bn_apply<T, false>(x, y, scale, shift, n, c); } \
    extern "C" __global__ void bn_silu_apply_##S(const T* x, T* y, const float* scale, const float* shift, i64 n, int c) { bn_apply<T, true>(x, y, scale, shift, n, c); } \
    extern "C" __global__ void __launch_bounds__(256) bn_train_apply_##S(const T* x, const T* residual, T* y, const double* sums, float* mean, float* invstd, float* running_mean, float* running_var, const float* gamma, const float* beta, i64 rows, int c, int rpc, float momentum, float eps) \
        { bn_train_apply<T, false>(x, residual, y, sums, mean, invstd, running_mean, running_var, gamma, beta, rows, c, rpc, momentum, eps); } \
    extern "C" __global__ void __launch_bounds__(256) bn_silu_train_apply_##S(const T* x, const T* residual, T* y, const double* sums, float* mean, float* invstd, float* running_mean, float* running_var, const float* gamma, const float* beta, i64 rows, int c, int rpc, float momentum, float eps) \
        { bn_train_apply<T, true>(x, residual, y, sums, mean, invstd, running_mean, running_var, gamma, beta, rows, c, rpc, momentum, eps); } \
    extern "C" __global__ void __launch_bounds__(256) bn_backward_reduce_##S(const T* x, const T* gy, const float* mean, const float* invstd, const float* gamma, const float* beta, float* partial, u32* tickets, float* ggamma, float* gbeta, float* coef, i64 rows, int c, int rpc) \
        { bn_backward_reduce<T, false>(x, gy, mean, invstd, gamma, beta, partial, tickets, ggamma, gbeta, coef, rows, c, rpc); } \
    extern "C" __global__ void __launch_bounds__(256) bn_silu_backward_reduce_##S(const T* x, const T* gy, const float* mean, const float* invstd, const float* gamma, const float* beta, float* partial, u32* tickets, float* ggamma, float* gbeta, float* coef, i64 rows, int c, int rpc) \
        { bn_backward_reduce<T, true>(x, gy, mean, invstd, gamma, beta, partial, tickets, ggamma, gbeta, coef, rows, c, rpc); } \
    extern "C" __global__ void bn_input_grad_##S(const T* x, const T* gy, T* gx, const float* coef, i64 n, int c) { bn_input_grad<T, false>(x, gy, gx, coef, n, c); } \
    extern "C" __global__ void bn_silu_input_grad_##S(const T* x, const T* gy, T* gx, const float* coef, i64 n, int c) { bn_input_grad<T, true>(x, gy, gx, coef, n, c); }
EXPORT_FLOAT_TYPES(EXPORT)
