// bce.cuh: binary cross-entropy on logits in PyTorch's stable form, for one element:
//   loss = (1 - t)·x + w·(log(1 + e^-|x|) + max(-x, 0)),  w = (pw - 1)·t + 1
//   ∂/∂x = w·σ(x) - pw·t        ∂/∂t = -x + (pw - 1)·softplus(-x)
#pragma once

__device__ __forceinline__ float softplus_neg(float x) { return log1pf(expf(-fabsf(x))) + fmaxf(-x, 0.0f); }
__device__ __forceinline__ float bce_value(float x, float t, float pw) { return (1.0f - t) * x + ((pw - 1.0f) * t + 1.0f) * softplus_neg(x); }
__device__ __forceinline__ float bce_grad(float x, float t, float pw) { return ((pw - 1.0f) * t + 1.0f) / (1.0f + expf(-x)) - pw * t; }
