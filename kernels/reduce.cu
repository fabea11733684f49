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

// A sum of all elements in one launch: each block adds a contiguous range into partial[block],
// then the last block to finish adds the partials (grid_sum, common.cuh). The same partition every
// time, so the same rounding.
template <typename T>
__device__ void sum_all(const T* x, float* partial, u32* tickets, T* y, i64 n, i64 per_block)
{
    __shared__ float shared[256];
    i64 start = (i64)blockIdx.x * per_block, end = min64(n, start + per_block);
    float acc[1] = {0.0f};
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) acc[0] += ld(x, i);
    if (grid_sum(acc, partial, tickets, shared) && threadIdx.x == 0) st(y, 0, acc[0]);
}

#define EXPORT(S, T) \
    extern "C" __global__ void __launch_bounds__(256) sum_all_##S(const T* x, float* partial, u32* tickets, T* y, i64 n, i64 per_block) { sum_all(x, partial, tickets, y, n, per_block); } \
    extern "C" __global__ void __launch_bounds__(256) sum_to_##S(const T* x, T* y, i64 ny, i64 reduced, Walk keep, Walk red) { sum_to(x, y, ny, reduced, keep, red); } \
    extern "C" __global__ void broadcast_to_##S(const T* x, T* y, i64 n, Walk w) { broadcast_to(x, y, n, w); }
EXPORT_FLOAT_TYPES(EXPORT)
