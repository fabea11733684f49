// sgd.cu: SGD as torch.optim.SGD computes it (dampening 0) on float32 master weights:
// g += wd·p; buf = m·buf + g; g = nesterov ? g + m·buf : buf; p -= lr·g. buf may be null (m = 0).
#include "common.cuh"

template <typename G>
__device__ void sgd_step(float* p, const G* grad, float* buf, i64 n, float lr, float m, float wd, int nesterov)
{
    GRID_STRIDE(i, n)
    {
        float d = ld(grad, i) + wd * p[i];
        if (buf)
        {
            buf[i] = m * buf[i] + d;
            d = nesterov ? d + m * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

#define EXPORT(S, T) \
    extern "C" __global__ void sgd_step_##S(float* p, const T* grad, float* buf, i64 n, float lr, float m, float wd, int nesterov) { sgd_step(p, grad, buf, n, lr, m, wd, nesterov); }
EXPORT_FLOAT_TYPES(EXPORT)
