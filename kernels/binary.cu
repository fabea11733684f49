// binary.cu: elementwise functions of two tensors with NumPy broadcasting (op codes match
// YoloCore.BinaryOp), their partial derivatives at the broadcast shape, and dst += alpha·src.
// wa and wb walk the output's shape with each input's strides (0 along broadcast axes).
#include "common.cuh"

#include "enums.cuh"

__device__ __forceinline__ float binary_f(int op, float a, float b)
{
    switch (op)
    {
        case Add: return a + b;
        case Sub: return a - b;
        case Mul: return a * b;
        case Div: return a / b;
        case Pow: return powf(a, b);
        case Minimum: return fminf(a, b);
        case Maximum: return fmaxf(a, b);
    }
    return 0.0f;
}

template <typename T>
__device__ void binary_forward(const T* a, const T* b, T* y, i64 n, int op, Walk wa, Walk wb)
{
    GRID_STRIDE(i, n) st(y, i, binary_f(op, ld(a, walk_offset(wa, i)), ld(b, walk_offset(wb, i))));
}

template <typename T>
__device__ void binary_backward(const T* a, const T* b, const T* gy, T* ga, T* gb, i64 n, int op, Walk wa, Walk wb)
{
    GRID_STRIDE(i, n)
    {
        float x = ld(a, walk_offset(wa, i)), z = ld(b, walk_offset(wb, i)), g = ld(gy, i);
        float da, db;
        switch (op)
        {
            case Add: da = 1.0f; db = 1.0f; break;
            case Sub: da = 1.0f; db = -1.0f; break;
            case Mul: da = z; db = x; break;
            case Div: da = 1.0f / z; db = -x / (z * z); break;
            case Pow: da = z * powf(x, z - 1.0f); db = x > 0.0f ? powf(x, z) * logf(x) : 0.0f; break;
            // Ties split the gradient in half, as PyTorch does.
            case Minimum: da = x < z ? 1.0f : (x == z ? 0.5f : 0.0f); db = 1.0f - da; break;
            default: da = x > z ? 1.0f : (x == z ? 0.5f : 0.0f); db = 1.0f - da; break;
        }
        if (ga) st(ga, i, g * da);
        if (gb) st(gb, i, g * db);
    }
}

template <typename T>
__device__ void axpy(T* dst, const T* src, i64 n, float alpha)
{
    GRID_STRIDE(i, n) st(dst, i, ld(dst, i) + alpha * ld(src, i));
}

#define EXPORT(S, T) \
    extern "C" __global__ void binary_forward_##S(const T* a, const T* b, T* y, i64 n, int op, Walk wa, Walk wb) { binary_forward(a, b, y, n, op, wa, wb); } \
    extern "C" __global__ void binary_backward_##S(const T* a, const T* b, const T* gy, T* ga, T* gb, i64 n, int op, Walk wa, Walk wb) { binary_backward(a, b, gy, ga, gb, n, op, wa, wb); } \
    extern "C" __global__ void axpy_##S(T* dst, const T* src, i64 n, float alpha) { axpy(dst, src, n, alpha); }
EXPORT_FLOAT_TYPES(EXPORT)
