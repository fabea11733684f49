// multitensor.cu: the optimizer step's tail over many tensors in one launch: unscale and check
// (mixed precision), sums of squares (gradient clipping), a = alpha·a + beta·b (EMA), and SGD.
#include "common.cuh"

// The host lists every tensor in chunks of at most 65536 elements (a, b, c: the chunk's tensors
// of one to three lists, start and length); block k handles chunk k.
struct Chunk
{
    unsigned long long a, b, c;
    i64 start;
    int len, pad;
};

template <typename G>
__device__ void mt_unscale_check(const Chunk* chunks, float inv_scale, int* found)
{
    Chunk ck = chunks[blockIdx.x];
    G* g = (G*)ck.a;
    for (int j = threadIdx.x; j < ck.len; j += blockDim.x)
    {
        i64 i = ck.start + j;
        float v = ld(g, i) * inv_scale;
        st(g, i, v);
        if (!isfinite(v)) *found = 1;
    }
}

template <typename G>
__device__ void mt_sum_squares(const Chunk* chunks, float* partial)
{
    __shared__ float shared[256];
    Chunk ck = chunks[blockIdx.x];
    const G* x = (const G*)ck.a;
    float acc = 0.0f;
    for (int j = threadIdx.x; j < ck.len; j += blockDim.x)
    {
        float v = ld(x, ck.start + j);
        acc += v * v;
    }
    float total = block_sum(acc, shared);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// a = alpha·a + beta·b (float32: EMA weights and buffers, or a scale of the gradients when beta = 0).
extern "C" __global__ void __launch_bounds__(256) mt_axpby_f32(const Chunk* chunks, float alpha, float beta)
{
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
__device__ void mt_sgd(const Chunk* chunks, float grad_scale, float lr, float m, float wd, int nesterov)
{
    Chunk ck = chunks[blockIdx.x];
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

#define EXPORT_MT(S, T) \
    extern "C" __global__ void __launch_bounds__(256) mt_unscale_check_##S(const Chunk* chunks, float inv_scale, int* found) { mt_unscale_check<T>(chunks, inv_scale, found); } \
    extern "C" __global__ void __launch_bounds__(256) mt_sum_squares_##S(const Chunk* chunks, float* partial) { mt_sum_squares<T>(chunks, partial); } \
    extern "C" __global__ void __launch_bounds__(256) mt_sgd_##S(const Chunk* chunks, float grad_scale, float lr, float m, float wd, int nesterov) { mt_sgd<T>(chunks, grad_scale, lr, m, wd, nesterov); }
EXPORT_FLOAT_TYPES(EXPORT_MT)
