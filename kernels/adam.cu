// adam.cu: Adam (decoupled = 0: L2 decay added to the gradient) and AdamW (decoupled = 1:
// p *= 1 - lr·wd) on float32 master weights and moments, as torch.optim:
// p -= (lr/bc1)·m / (√v/√bc2 + eps).
#include "common.cuh"

template <typename G>
__device__ void adam_step(float* p, const G* grad, float* m, float* v, i64 n, float lr, float beta1, float beta2,
    float eps, float wd, int decoupled, float bc1, float bc2)
{
    float step_size = lr / bc1, sqrt_bc2 = sqrtf(bc2);
    GRID_STRIDE(i, n)
    {
        float d = ld(grad, i);
        if (decoupled) p[i] *= 1.0f - lr * wd;
        else d += wd * p[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * d;
        v[i] = beta2 * v[i] + (1.0f - beta2) * d * d;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / sqrt_bc2 + eps);
    }
}

#define EXPORT_ADAM(S, T) \
    extern "C" __global__ void adam_step_##S(float* p, const T* grad, float* m, float* v, i64 n, float lr, float beta1, float beta2, float eps, float wd, int decoupled, float bc1, float bc2) \
        { adam_step(p, grad, m, v, n, lr, beta1, beta2, eps, wd, decoupled, bc1, bc2); }
EXPORT_FLOAT_TYPES(EXPORT_ADAM)
