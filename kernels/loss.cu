// loss.cu: elementwise binary cross-entropy on logits in PyTorch's stable form, and its gradients:
//   loss = (1 - t)·x + w·(log(1 + e^-|x|) + max(-x, 0)),  w = (pw - 1)·t + 1
//   ∂/∂x = w·σ(x) - pw·t        ∂/∂t = -x + (pw - 1)·softplus(-x)
#include "common.cuh"

__device__ __forceinline__ float softplus_neg(float x) { return log1pf(expf(-fabsf(x))) + fmaxf(-x, 0.0f); }

template <typename T>
__device__ void bce_forward(const T* x, const T* t, T* loss, i64 n, float pw)
{
    GRID_STRIDE(i, n)
    {
        float v = ld(x, i), tv = ld(t, i), w = (pw - 1.0f) * tv + 1.0f;
        st(loss, i, (1.0f - tv) * v + w * softplus_neg(v));
    }
}

template <typename T>
__device__ void bce_backward(const T* x, const T* t, const T* gy, T* gx, T* gt, i64 n, float pw)
{
    GRID_STRIDE(i, n)
    {
        float v = ld(x, i), tv = ld(t, i), g = ld(gy, i), w = (pw - 1.0f) * tv + 1.0f;
        if (gx) st(gx, i, g * (w / (1.0f + expf(-v)) - pw * tv));
        if (gt) st(gt, i, g * (-v + (pw - 1.0f) * softplus_neg(v)));
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void bce_forward_##S(const T* x, const T* t, T* loss, i64 n, float pw) { bce_forward(x, t, loss, n, pw); } \
    extern "C" __global__ void bce_backward_##S(const T* x, const T* t, const T* gy, T* gx, T* gt, i64 n, float pw) { bce_backward(x, t, gy, gx, gt, n, pw); }
EXPORT_FLOAT_TYPES(EXPORT)
