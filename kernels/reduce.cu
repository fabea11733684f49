// reduce.cu: SumTo (sum x over the axes where y has size 1) and its inverse BroadcastTo.
// SumTo runs one block per output element; its threads stride over the reduced index space and
// combine with a fixed tree, so the result does not depend on scheduling. keep walks y's index
// into x's offset, red walks the reduced index into x's offset.
#include "common.cuh"

template <typename T>
__device__ void sum_to(const T* x, T* y, i64 ny, i64 reduced, Walk keep, Walk red)
{
    __shared__ float shared[256];
    for (i64 j = blockIdx.x; j < ny; j += gridDim.x)
    {
        i64 base = walk_offset(keep, j);
        float acc = 0.0f;
        for (i64 r = threadIdx.x; r < reduced; r += blockDim.x) acc += ld(x, base + walk_offset(red, r));
        float total = block_sum(acc, shared);
        if (threadIdx.x == 0) st(y, j, total);
    }
}

template <typename T>
__device__ void broadcast_to(const T* x, T* y, i64 n, Walk w)
{
    GRID_STRIDE(i, n) st(y, i, ld(x, walk_offset(w, i)));
}

// A sum of all elements in two passes: each block adds a contiguous range into partial[block],
// then one block adds the partials. The same partition every time, so the same rounding.
template <typename T>
__device__ void sum_all_partial(const T* x, float* partial, i64 n, i64 per_block)
{
    __shared__ float shared[256];
    i64 start = (i64)blockIdx.x * per_block, end = min64(n, start + per_block);
    float acc = 0.0f;
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) acc += ld(x, i);
    float total = block_sum(acc, shared);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

template <typename T>
__device__ void sum_all_final(const float* partial, T* y, int count)
{
    __shared__ float shared[256];
    float acc = 0.0f;
    for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
    float total = block_sum(acc, shared);
    if (threadIdx.x == 0) st(y, 0, total);
}

#define EXPORT(S, T) \
    extern "C" __global__ void __launch_bounds__(256) sum_all_partial_##S(const T* x, float* partial, i64 n, i64 per_block) { sum_all_partial(x, partial, n, per_block); } \
    extern "C" __global__ void __launch_bounds__(256) sum_all_final_##S(const float* partial, T* y, int count) { sum_all_final(partial, y, count); } \
    extern "C" __global__ void __launch_bounds__(256) sum_to_##S(const T* x, T* y, i64 ny, i64 reduced, Walk keep, Walk red) { sum_to(x, y, ny, reduced, keep, red); } \
    extern "C" __global__ void broadcast_to_##S(const T* x, T* y, i64 n, Walk w) { broadcast_to(x, y, n, w); }
EXPORT_FLOAT_TYPES(EXPORT)
