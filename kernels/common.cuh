// common.cuh: what every kernel shares. NVRTC compiles our kernels without any CUDA toolkit
// header, so the half type is ours: 16-bit storage converted to and from float with the PTX cvt
// instruction. Every kernel computes in float (float32 accumulation) and loads/stores T, which is
// float or f16. Indices are 64-bit. Layouts: activations NHWC, weights OHWI, row-major, contiguous.
#pragma once

typedef long long i64;
// Raw words: pure copies move these, so every dtype of that size shares one kernel.
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

struct f16 { unsigned short bits; };

#if defined(YOLOCORE_EMULATOR) // tests/cuda-emulator: the same conversions on the CPU
__device__ __forceinline__ float h2f(unsigned short h) { return emu::h2f(h); }
__device__ __forceinline__ unsigned short f2h(float f) { return emu::f2h(f); }
#else
__device__ __forceinline__ float h2f(unsigned short h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ unsigned short f2h(float f)
{
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
#endif

__device__ __forceinline__ float ld(const float* p, i64 i) { return p[i]; }
__device__ __forceinline__ float ld(const f16* p, i64 i) { return h2f(p[i].bits); }
__device__ __forceinline__ void st(float* p, i64 i, float v) { p[i] = v; }
__device__ __forceinline__ void st(f16* p, i64 i, float v) { p[i].bits = f2h(v); }

// The run k falls in, for a table of ascending run starts (start[j] ≤ k < start[j + 1]): a
// launch's pieces (layout.cu), a handful, so a linear scan.
__device__ __forceinline__ int run_of(const i64* start, i64 k)
{
    int j = 0;
    while (k >= start[j + 1]) j++;
    return j;
}

// Atomic add into float or f16 memory (f16 needs sm_70's red.f16).
__device__ __forceinline__ void atomic_add(float* p, i64 i, float v) { atomicAdd(p + i, v); }
#if defined(YOLOCORE_EMULATOR)
__device__ __forceinline__ void atomic_add(f16* p, i64 i, float v) { emu::atomic_add_f16(&p[i].bits, v); }
#else
__device__ __forceinline__ void atomic_add(f16* p, i64 i, float v)
{
    unsigned short h = f2h(v);
    asm volatile("red.global.add.noftz.f16 [%0], %1;" :: "l"(p + i), "h"(h) : "memory");
}
#endif

// A load from L2, past this SM's L1: what another block wrote during this launch.
#if defined(YOLOCORE_EMULATOR)
__device__ __forceinline__ float ld_cg(const float* p) { return *p; }
__device__ __forceinline__ double ld_cg(const double* p) { return *p; }
#else
__device__ __forceinline__ float ld_cg(const float* p)
{
    float v;
    asm volatile("ld.global.cg.f32 %0, [%1];" : "=f"(v) : "l"(p));
    return v;
}
__device__ __forceinline__ double ld_cg(const double* p)
{
    double v;
    asm volatile("ld.global.cg.f64 %0, [%1];" : "=d"(v) : "l"(p));
    return v;
}
#endif

// One launch where a partials kernel and a reduce kernel took two ("last block reduces", as in
// CUDA's threadFenceReduction sample): each of `blocks` blocks writes its partials, then takes a
// ticket from *counter; the block that takes the last one sees every partial and adds them in a
// fixed order, so the result does not depend on which block that was. It sets the counter back to
// 0 for the next launch (and graph replay): counters live in the backend's zeroed ticket buffer,
// one per group of blocks that reduce together. blockDim is one-dimensional.
__device__ __forceinline__ bool last_to_arrive(u32* counter, u32 blocks)
{
    __shared__ int last;
    __threadfence(); // this thread's partials, visible to every block before the ticket is taken
    __syncthreads();
    if (threadIdx.x == 0)
    {
        last = atomicAdd(counter, 1u) == blocks - 1;
        if (last) *counter = 0;
    }
    __syncthreads();
    if (last) __threadfence();
    return last;
}

__device__ __forceinline__ i64 min64(i64 a, i64 b) { return a < b ? a : b; }
__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int imax(int a, int b) { return a > b ? a : b; }
__device__ __forceinline__ float neg_infinity() { return __int_as_float(0xff800000); }

#define GRID_STRIDE(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

// Up to 8 dimensions describe a broadcast or permuted walk: the output's sizes and, per output
// axis, the input's stride (0 where the input is broadcast along that axis).
#define MAX_DIMS 8
struct Walk
{
    int rank;
    i64 dims[MAX_DIMS];
    i64 strides[MAX_DIMS];
};

__device__ __forceinline__ i64 walk_offset(const Walk& w, i64 linear)
{
    i64 offset = 0;
    for (int d = w.rank - 1; d >= 0; d--)
    {
        i64 idx = linear % w.dims[d];
        linear /= w.dims[d];
        offset += idx * w.strides[d];
    }
    return offset;
}

// Kernels are written once as templates over T and exported for float ("_f32") and f16 ("_f16").
#define EXPORT_FLOAT_TYPES(EXPORT) EXPORT(f32, float) EXPORT(f16, f16)

// Block-wide sum in shared memory (blockDim.x must be a power of two ≤ 1024), in float or double.
// Deterministic: the tree's shape depends only on blockDim.
template <typename A>
__device__ __forceinline__ A block_sum(A v, A* shared)
{
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
        if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
        __syncthreads();
    }
    A r = shared[0];
    __syncthreads();
    return r;
}

// A grid-wide sum of N values per thread in one launch: each block adds its threads' values
// (block_sum) into partial[block·N + j], and the last block to finish (last_to_arrive) adds the
// blocks' partials in block order. True in that block only, whose thread 0 then holds the totals
// in v. The same blocks and order every run: deterministic.
template <int N>
__device__ __forceinline__ bool grid_sum(float (&v)[N], float* partial, u32* ticket, float* shared)
{
    for (int j = 0; j < N; j++)
    {
        float b = block_sum(v[j], shared);
        if (threadIdx.x == 0) partial[(i64)blockIdx.x * N + j] = b;
    }
    if (!last_to_arrive(ticket, gridDim.x)) return false;
    for (int j = 0; j < N; j++)
    {
        float a = 0.0f;
        for (int i = threadIdx.x; i < (int)gridDim.x; i += blockDim.x) a += ld_cg(partial + (i64)i * N + j);
        v[j] = block_sum(a, shared);
    }
    return true;
}
