// multitensor.cu: the optimizer step's tail over many tensors in one launch: unscale and check
// (mixed precision), sums of squares (gradient clipping), a = alpha·a + beta·b (EMA), and SGD;
// mixed precision's weight casts before the forward pass; zeroing kept gradients;
// and the two one-thread kernels that keep the step free of host reads: clipping's coefficient
// and the loss scaler's update. Scale, coefficient and skip flag stay on the device: the
// kernels read them, so the host queues the whole step without waiting.
#include "common.cuh"

// The host lists every tensor in chunks of at most 65536 elements (a, b, c: the chunk's tensors
// of one to three lists, start and length, and the tensor's group: SGD's row of settings, 0
// elsewhere); block k handles chunk k.
struct Chunk
{
    unsigned long long a, b, c;
    i64 start;
    int len, group;
};

template <typename G>
__device__ void mt_unscale_check(const Chunk* chunks, const float* scale, int* found)
{
    Chunk ck = chunks[blockIdx.x];
    float inv_scale = (float)(1.0 / (double)*scale); // as torch: the reciprocal in double, then float
    G* g = (G*)ck.a;
    for (int j = threadIdx.x; j < ck.len; j += blockDim.x)
    {
        i64 i = ck.start + j;
        float v = ld(g, i) * inv_scale;
        st(g, i, v);
        if (!isfinite(v)) atomicExch(found, 1); // every thread that finds one says so: atomic, so not a race
    }
}

// clip_grad_norm_'s factor: min(1, max_norm / (sqrt(sum of squares) + 1e-6)), in double as the
// CPU computes it.
__device__ __forceinline__ float clip_coefficient(float sum_squares, double max_norm)
{
    double c = max_norm / (sqrt((double)sum_squares) + 1e-6);
    return (float)(c < 1.0 ? c : 1.0);
}

// Σ x² over every tensor into *sum: a partial per chunk, which the last block to finish adds
// (grid_sum, common.cuh) in chunk order; with coef (or null) it also writes the clipping factor.
template <typename G>
__device__ void mt_sum_squares(const Chunk* chunks, float* partial, u32* ticket, float* sum, float* coef, double max_norm)
{
    __shared__ float shared[256];
    Chunk ck = chunks[blockIdx.x];
    const G* x = (const G*)ck.a;
    float acc[1] = {0.0f};
    for (int j = threadIdx.x; j < ck.len; j += blockDim.x)
    {
        float v = ld(x, ck.start + j);
        acc[0] += v * v;
    }
    if (!grid_sum(acc, partial, ticket, shared) || threadIdx.x != 0) return;
    *sum = acc[0];
    if (coef) *coef = clip_coefficient(acc[0], max_norm);
}

// b = a converted (float32 master weights to their float16 copies, or back), as cast_* does per tensor.
template <typename A, typename B>
__device__ void mt_cast(const Chunk* chunks)
{
    Chunk ck = chunks[blockIdx.x];
    const A* a = (const A*)ck.a;
    B* b = (B*)ck.b;
    for (int j = threadIdx.x; j < ck.len; j += blockDim.x) st(b, ck.start + j, ld(a, ck.start + j));
}
extern "C" __global__ void __launch_bounds__(256) mt_cast_f32_f16(const Chunk* chunks) { mt_cast<float, f16>(chunks); }
extern "C" __global__ void __launch_bounds__(256) mt_cast_f16_f32(const Chunk* chunks) { mt_cast<f16, float>(chunks); }

// a = alpha·a + beta·b (float32: EMA weights and buffers, or a scale of the gradients when beta = 0),
// coef = (alpha, beta) in double on the device, so a captured step reads each step's EMA decay.
extern "C" __global__ void __launch_bounds__(256) mt_axpby_f32(const Chunk* chunks, const double* coef)
{
    float alpha = (float)coef[0], beta = (float)coef[1];
    Chunk ck = chunks[blockIdx.x];
    float* a = (float*)ck.a;
    const float* b = (const float*)ck.b;
    for (int j = threadIdx.x; j < ck.len; j += blockDim.x)
    {
        i64 i = ck.start + j;
        a[i] = alpha * a[i] + (beta != 0.0f ? beta * b[i] : 0.0f);
    }
}

template <typename G>
__device__ void mt_sgd(const Chunk* chunks, const float* scale, const int* skip, const double* settings)
{
    if (skip && *skip) return; // the loss scaler found inf/NaN: this step is skipped
    Chunk ck = chunks[blockIdx.x];
    // The chunk's group's (lr, momentum, weight decay, nesterov) in double on the device: a
    // captured step reads this step's.
    const double* s = settings + 4 * ck.group;
    float lr = (float)s[0], m = (float)s[1], wd = (float)s[2];
    bool nesterov = s[3] != 0.0;
    float grad_scale = scale ? *scale : 1.0f;
    float* p = (float*)ck.a;
    const G* g = (const G*)ck.b;
    float* buf = (float*)ck.c;
    for (int j = threadIdx.x; j < ck.len; j += blockDim.x)
    {
        i64 i = ck.start + j;
        float d = grad_scale * ld(g, i) + wd * p[i];
        if (buf)
        {
            buf[i] = m * buf[i] + d;
            d = nesterov ? d + m * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

// Every tensor set to 0 (torch._foreach_zero_): a captured step's kept gradients after its optimizer step.
template <typename T>
__device__ void mt_zero(const Chunk* chunks)
{
    Chunk ck = chunks[blockIdx.x];
    T* a = (T*)ck.a;
    for (int j = threadIdx.x; j < ck.len; j += blockDim.x) st(a, ck.start + j, 0.0f);
}

#define EXPORT_MT(S, T) \
    extern "C" __global__ void __launch_bounds__(256) mt_unscale_check_##S(const Chunk* chunks, const float* scale, int* found) { mt_unscale_check<T>(chunks, scale, found); } \
    extern "C" __global__ void __launch_bounds__(256) mt_sum_squares_##S(const Chunk* chunks, float* partial, u32* ticket, float* sum, float* coef, double max_norm) { mt_sum_squares<T>(chunks, partial, ticket, sum, coef, max_norm); } \
    extern "C" __global__ void __launch_bounds__(256) mt_zero_##S(const Chunk* chunks) { mt_zero<T>(chunks); } \
    extern "C" __global__ void __launch_bounds__(256) mt_sgd_##S(const Chunk* chunks, const float* scale, const int* skip, const double* settings) { mt_sgd<T>(chunks, scale, skip, settings); }
EXPORT_FLOAT_TYPES(EXPORT_MT)

// torch's _amp_update_scale_: back off and count a skipped step after inf/NaN, else grow the
// scale after growth_interval clean steps in a row. One thread does it.
extern "C" __global__ void amp_update_scale(float* scale, int* clean_steps, int* skipped, const int* found,
    double growth, double backoff, int growth_interval)
{
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    if (*found)
    {
        *scale = (float)((double)*scale * backoff);
        *clean_steps = 0;
        *skipped += 1;
        return;
    }
    if (++*clean_steps >= growth_interval)
    {
        *scale = (float)((double)*scale * growth);
        *clean_steps = 0;
    }
}
