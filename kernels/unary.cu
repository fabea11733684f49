// unary.cu: elementwise functions of one tensor and their derivatives, y = f(x) and
// gx = gy·f'(x), for every UnaryOp (the op codes match YoloCore.UnaryOp's order). a and b are the
// op's scalar parameters (Affine: a·x + b; PowScalar: x^a; Clamp: [a, b]). Flat, any layout.
#include "common.cuh"

#include "enums.cuh"

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ float unary_f(int op, float x, float a, float b)
{
    switch (op)
    {
        case Neg: return -x;
        case Exp: return expf(x);
        case Log: return logf(x);
        case Sqrt: return sqrtf(x);
        case Square: return x * x;
        case Abs: return fabsf(x);
        case Atan: return atanf(x);
        case Sigmoid: return sigmoidf(x);
        case Silu: return x * sigmoidf(x);
        case Affine: return a * x + b;
        case PowScalar: return powf(x, a);
        case Clamp: return fminf(fmaxf(x, a), b);
    }
    return 0.0f;
}

__device__ __forceinline__ float unary_df(int op, float x, float y, float a, float b)
{
    switch (op)
    {
        case Neg: return -1.0f;
        case Exp: return y;
        case Log: return 1.0f / x;
        case Sqrt: return 0.5f / y;
        case Square: return 2.0f * x;
        case Abs: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
        case Atan: return 1.0f / (1.0f + x * x);
        case Sigmoid: return y * (1.0f - y);
        case Silu: { float s = sigmoidf(x); return s * (1.0f + x * (1.0f - s)); }
        case Affine: return a;
        case PowScalar: return a == 0.0f ? 0.0f : a * powf(x, a - 1.0f);
        case Clamp: return (x >= a && x <= b) ? 1.0f : 0.0f;
    }
    return 0.0f;
}

template <typename T>
__device__ void unary_forward(const T* x, T* y, i64 n, int op, float a, float b)
{
    GRID_STRIDE(i, n) st(y, i, unary_f(op, ld(x, i), a, b));
}

template <typename T>
__device__ void unary_backward(const T* x, const T* y, const T* gy, T* gx, i64 n, int op, float a, float b)
{
    GRID_STRIDE(i, n) st(gx, i, ld(gy, i) * unary_df(op, ld(x, i), ld(y, i), a, b));
}

#define EXPORT(S, T) \
    extern "C" __global__ void unary_forward_##S(const T* x, T* y, i64 n, int op, float a, float b) { unary_forward(x, y, n, op, a, b); } \
    extern "C" __global__ void unary_backward_##S(const T* x, const T* y, const T* gy, T* gx, i64 n, int op, float a, float b) { unary_backward(x, y, gy, gx, n, op, a, b); }
EXPORT_FLOAT_TYPES(EXPORT)
