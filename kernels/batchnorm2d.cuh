// batchnorm2d.cuh: BatchNorm's input gradient at one element, shared by batchnorm2d.cu's
// bn_input_grad and the convolution's loads (conv2d_implicit.cuh), which compute it where the
// convolution's backward reads its gy instead of storing it. From the backward's sums, per
// channel, bn_backward_reduce's last block writes 8 floats (two float4 loads):
//   coef[0..5] = mean, a = σ⁻¹·γ, β, k = γσ⁻¹, m1 = Σg/M, m2 = σ⁻²·Σg(x - mean)/M
// and gx = k·(g - m1 - (x - mean)·m2), where g is gy or, after SiLU, gy·silu'(z) at
// z = (x - mean)·a + β recomputed from x (never stored).
#pragma once

#define BN_COEFS 8

__device__ __forceinline__ float bn_sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

// The gradient at BatchNorm's output: gy, or after SiLU gy·silu'(z).
template <bool SILU>
__device__ __forceinline__ float bn_output_grad(float gy, float xc, float a, float beta)
{
    if (!SILU) return gy;
    float z = xc * a + beta, s = bn_sigmoid(z);
    return gy * s * (1.0f + z * (1.0f - s));
}

template <bool SILU>
__device__ __forceinline__ float bn_input_grad_at(float gy, float x, const float* coef)
{
    float xc = x - coef[0], g = bn_output_grad<SILU>(gy, xc, coef[1], coef[2]);
    return coef[3] * (g - coef[4] - xc * coef[5]);
}
