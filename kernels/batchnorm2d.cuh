// batchnorm2d.cuh: what batchnorm2d.cu shares with the convolution's kernels (conv2d_implicit.cuh):
// the statistics from the batch sums, which a deferred Conv block's forward finishes in its
// epilogue, and BatchNorm's input gradient at one element, which the convolution's backward
// computes where it reads its gy instead of storing it. From the backward's sums, per
// channel, bn_backward_reduce's last block writes 8 floats (two float4 loads):
//   coef[0..5] = mean, a = σ⁻¹·γ, β, k = γσ⁻¹, m1 = Σg/M, m2 = σ⁻²·Σg(x - mean)/M
// and gx = k·(g - m1 - (x - mean)·m2), where g is gy or, after SiLU, gy·silu'(z) at
// z = (x - mean)·a + β recomputed from x (never stored).
#pragma once

#define BN_COEFS 8

// Channel ch's batch statistics from the batch sums (Σx, then Σx², [2, c] in double) over rows,
// and the affine map y = x·scale + shift they give. var = Σx²/M - mean², what the convolution's
// epilogue can give without a second pass; clamped at 0 against rounding.
struct BnMoments
{
    double mean, var;
};

__device__ __forceinline__ BnMoments bn_affine(int ch, const double* sums, i64 rows, int c, const float* gamma, const float* beta, float eps,
    float& scale, float& shift)
{
    double m = sums[ch] / rows, var = fmax(sums[c + ch] / rows - m * m, 0.0), inv = 1.0 / sqrt(var + eps);
    scale = (float)(gamma[ch] * inv);
    shift = (float)(beta[ch] - m * gamma[ch] * inv);
    return {m, var};
}

// The step's one write of channel ch's mean and inverse std (for backward) and running statistics
// (unbiased variance).
__device__ __forceinline__ void bn_keep_statistics(int ch, BnMoments s, i64 rows, float eps, float momentum, float* mean, float* invstd,
    float* running_mean, float* running_var)
{
    mean[ch] = (float)s.mean;
    invstd[ch] = (float)(1.0 / sqrt(s.var + eps));
    running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * s.mean);
    running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * s.var * rows / (rows - 1));
}

// A Conv block whose BatchNorm + SiLU its reader applies (Ops.ConvBatchNormSiluDeferred): the
// statistics alone, kept as bn_keep_statistics keeps them, and the map as map[ch] = scale,
// map[c + ch] = shift, which the next convolution applies as it loads its input
// (conv2d_implicit.cuh's XParts). map null: none to finish.
struct BnStatistics
{
    float *mean, *invstd, *running_mean, *running_var;
    const float *gamma, *beta;
    float* map;
    float momentum, eps;
};

__device__ __forceinline__ void bn_statistics(int ch, const double* sums, i64 rows, int c, const BnStatistics& s)
{
    BnMoments m = bn_affine(ch, sums, rows, c, s.gamma, s.beta, s.eps, s.map[ch], s.map[c + ch]);
    bn_keep_statistics(ch, m, rows, s.eps, s.momentum, s.mean, s.invstd, s.running_mean, s.running_var);
}


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
