// cuda_on_cpu.h: the CUDA C++ that kernels/*.cu use, on the CPU. g++ force-includes it before a
// kernel file (build.sh), so the same source NVRTC compiles for the GPU runs here, one block at a
// time: every thread of the block is a fiber (scheduler.cpp), __syncthreads and the warp-wide
// instructions switch between them. What it cannot show: timing, races between blocks, the
// hardware's own rounding inside mma (here a plain float sum) and its memory model.
#pragma once
#include <cmath>
#include <cstring>
#include <functional>
#include <math.h>
#include <tuple>
#include <type_traits>
#include <utility>

#define YOLOCORE_EMULATOR 1
#define __CUDA_ARCH__ 800
#ifdef EMU_LIST_KERNELS // build.sh finds the kernels' names in the preprocessed source by this mark
#define __global__ EMU_GLOBAL_MARK
#else
#define __global__
#endif
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// An OS thread runs one block at a time (scheduler.cpp), so its thread_local array is the block's shared memory.
#define __shared__ static thread_local
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict

namespace emu
{
struct uint3 { unsigned x, y, z; };

struct Thread
{
    uint3 idx;
    int lane, warp;
};

extern thread_local Thread* current;
extern thread_local uint3 block_idx, block_dim, grid_dim;

void sync_block();
// A warp-wide exchange: every live lane of the caller's warp puts a value in, then reads lane `from`'s.
unsigned long long exchange(unsigned long long value, int from);

float h2f(unsigned short h);
unsigned short f2h(float f);
// The emulated device's shared memory as 32-bit addresses (ldmatrix and cp.async take those).
unsigned shared_address(const void* p);
void* shared_pointer(unsigned address);
void ldmatrix_x4(unsigned* r, unsigned address, bool transposed);
void mma_16816(float* c, const unsigned* a, unsigned b0, unsigned b1);

// *p += v as one atomic step (a compare-and-swap loop), returning the old value.
template <typename T>
inline T atomic_add(T* p, T v)
{
    T old, sum;
    __atomic_load(p, &old, __ATOMIC_RELAXED);
    do sum = old + v;
    while (!__atomic_compare_exchange(p, &old, &sum, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
}

// red.add.f16: the float16 sum rounded, atomically.
inline void atomic_add_f16(unsigned short* p, float v)
{
    unsigned short old = __atomic_load_n(p, __ATOMIC_RELAXED), sum;
    do sum = f2h(h2f(old) + h2f(f2h(v)));
    while (!__atomic_compare_exchange(p, &old, &sum, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}
}

#define threadIdx (emu::current->idx)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

inline void __syncthreads() { emu::sync_block(); }

template <typename T>
inline T __shfl_xor_sync(unsigned, T value, int mask)
{
    static_assert(sizeof(T) <= 8, "a shuffle moves at most 8 bytes");
    unsigned long long bits = 0;
    std::memcpy(&bits, &value, sizeof(T));
    bits = emu::exchange(bits, emu::current->lane ^ mask);
    T r;
    std::memcpy(&r, &bits, sizeof(T));
    return r;
}

// Blocks run on several OS threads at once (threads of one block switch only at barriers).
inline float atomicAdd(float* p, float v) { return emu::atomic_add(p, v); }
inline double atomicAdd(double* p, double v) { return emu::atomic_add(p, v); }
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

// Orders this thread's memory accesses before and after it for every block (a ticket's partials).
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
using std::isfinite;
