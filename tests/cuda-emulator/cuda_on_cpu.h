// cuda_on_cpu.h: the CUDA C++ that kernels/*.cu use, on the CPU. g++ force-includes it before a
// kernel file (build.sh), so the same source NVRTC compiles for the GPU runs here, one block at a
// time: every thread of the block is a fiber (scheduler.cpp), __syncthreads and the warp-wide
// instructions switch between them. What it cannot show: timing, races (but see build.sh --tsan
// and race-check.sh), the hardware's own rounding inside mma (here a plain float sum) and its
// memory model.
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

// A cp.async in flight: issued, not yet waited for (cp_async_wait performs it, as late as the
// hardware may).
struct Copy
{
    void* dst;
    const void* src;
    int bytes, group;
};

constexpr int MaxCopies = 32;

struct Thread
{
    uint3 idx;
    int lane, warp;
    Copy copies[MaxCopies];
    int pending, committed; // copies in flight; groups committed so far
};

extern thread_local Thread* current;
extern thread_local uint3 block_idx, block_dim, grid_dim;

void sync_block();
// Ends the process with a message: the kernel did what the hardware does not allow.
[[noreturn]] void fail(const char* what);
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

// Under ThreadSanitizer (build.sh --tsan), the accesses the hardware makes on a thread's behalf
// outside its own instructions: cp.async's to shared memory.
#if defined(YOLOCORE_EMULATOR_TSAN)
extern "C" void __tsan_read_range(const void* addr, unsigned long size);
extern "C" void __tsan_write_range(void* addr, unsigned long size);
namespace emu
{
inline void seen_write(void* p, int bytes) { __tsan_write_range(p, bytes); }
inline void seen_read(const void* p, int bytes) { __tsan_read_range(p, bytes); }
}
#else
namespace emu
{
inline void seen_write(void*, int) {}
inline void seen_read(const void*, int) {}
}
#endif

namespace emu
{
// cp.async: 16 bytes global -> shared (bytes of them read, zeros for the rest), landing at the
// latest when the thread waits for its group. The copy itself is done then, so a thread that
// reads its destination before waiting reads what was there before; the destination counts as
// written from the issue to the wait (seen_write at both ends, and at every barrier between, so
// ThreadSanitizer sees another thread's access anywhere in that window as a race).
inline void cp_async(void* dst, const void* src, int bytes)
{
    Thread& t = *current;
    if (t.pending == MaxCopies) fail("more cp.async in flight than the emulator keeps (MaxCopies)");
    t.copies[t.pending++] = {dst, src, bytes, t.committed};
    seen_write(dst, 16);
    if (bytes > 0) seen_read(src, bytes);
}

inline void cp_async_commit() { current->committed++; }

// cp.async.wait_group n: every group but the n most recent has landed.
inline void cp_async_wait(int n)
{
    Thread& t = *current;
    int kept = 0;
    for (int i = 0; i < t.pending; i++)
    {
        Copy& c = t.copies[i];
        if (c.group < t.committed - n)
        {
            std::memset(c.dst, 0, 16);
            if (c.bytes > 0) std::memcpy(c.dst, c.src, c.bytes);
        }
        else t.copies[kept++] = c;
    }
    t.pending = kept;
}

inline void copies_in_flight_written()
{
    for (int i = 0; i < current->pending; i++) seen_write(current->copies[i].dst, 16);
}
}

#define threadIdx (emu::current->idx)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

inline void __syncthreads()
{
    emu::copies_in_flight_written();
    emu::sync_block();
    emu::copies_in_flight_written();
}

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

// Blocks run on several OS threads at once (threads of one block switch only at barriers). The
// integer adds are the tickets of last_to_arrive (common.cuh), whose __threadfence orders a block's
// partials before its ticket; acquire-release says the same in the terms ThreadSanitizer follows
// (it does not model fences), and costs nothing more on x86, where every such add is a full barrier.
inline float atomicAdd(float* p, float v) { return emu::atomic_add(p, v); }
inline double atomicAdd(double* p, double v) { return emu::atomic_add(p, v); }
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }

// Orders this thread's memory accesses before and after it for every block (a ticket's partials).
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
using std::isfinite;
