// bce.cu: elementwise binary cross-entropy on logits (bce.cuh) and its gradients.
#include "common.cuh"
#include "bce.cuh"

template <typename T>
__device__ void bce_forward(const T* x, const T* t, T* loss, i64 n, float pw)
{
    GRID_STRIDE(i, n)
    {
        st(loss, i, bce_value(ld(x, i), ld(t, i), pw));
    }
}

template <typename T>
__device__ void bce_backward(const T* x, const T* t, const T* gy, T* gx, T* gt, i64 n, float pw)
{
    GRID_STRIDE(i, n)
    {
        float v = ld(x, i), tv = ld(t, i), g = ld(gy, i);
        if (gx) st(gx, i, g * bce_grad(v, tv, pw));
        if (gt) st(gt, i, g * (-v + (pw - 1.0f) * softplus_neg(v)));
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void bce_forward_##S(const T* x, const T* t, T* loss, i64 n, float pw) { bce_forward(x, t, loss, n, pw); } \
    extern "C" __global__ void bce_backward_##S(const T* x, const T* t, const T* gy, T* gx, T* gt, i64 n, float pw) { bce_backward(x, t, gy, gx, gt, n, pw); }
EXPORT_FLOAT_TYPES(EXPORT)
