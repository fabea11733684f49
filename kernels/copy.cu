// copy.cu: copies that convert dtypes on the device (float32 ↔ float16 for mixed precision, uint8 images to
// float, int32 ↔ float). Values go through float; to uint8 rounds to nearest and clamps to
// [0, 255], to int32 truncates toward zero (as the CPU backend does).
#include "common.cuh"

__device__ __forceinline__ float ldv(const float* p, i64 i) { return p[i]; }
__device__ __forceinline__ float ldv(const f16* p, i64 i) { return h2f(p[i].bits); }
__device__ __forceinline__ float ldv(const u8* p, i64 i) { return (float)p[i]; }
__device__ __forceinline__ float ldv(const int* p, i64 i) { return (float)p[i]; }
__device__ __forceinline__ void stv(float* p, i64 i, float v) { p[i] = v; }
__device__ __forceinline__ void stv(f16* p, i64 i, float v) { p[i].bits = f2h(v); }
__device__ __forceinline__ void stv(u8* p, i64 i, float v) { p[i] = (u8)fminf(fmaxf(rintf(v), 0.0f), 255.0f); }
__device__ __forceinline__ void stv(int* p, i64 i, float v) { p[i] = (int)v; }

template <typename A, typename B>
__device__ void convert(const A* x, B* y, i64 n)
{
    GRID_STRIDE(i, n) stv(y, i, ldv(x, i));
}

#define CAST(NA, A, NB, B) extern "C" __global__ void cast_##NA##_##NB(const A* x, B* y, i64 n) { convert(x, y, n); }
#define CAST_FROM(NA, A) CAST(NA, A, f32, float) CAST(NA, A, f16, f16) CAST(NA, A, u8, u8) CAST(NA, A, i32, int)
CAST_FROM(f32, float)
CAST_FROM(f16, f16)
CAST_FROM(u8, u8)
CAST_FROM(i32, int)
