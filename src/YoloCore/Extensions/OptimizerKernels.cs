namespace YoloCore;

/// The kernels of the optimizer step's tail, an extension op (IBackend.Extension) that
/// YoloCore.Training's Sgd, Adam, GradScaler, clipping and EMA call. The contract stays in Core
/// because the backends implement it and sit beside Core, below Training. The multi-tensor
/// kernels cover many tensors in one pass (one launch on a GPU instead of one per tensor).
public interface IOptimizerKernels
{
    /// One SGD step as torch.optim.SGD does it (dampening 0): g += wd·p; buf = m·buf + g;
    /// g = nesterov ? g + m·buf : buf; p -= lr·g. momentumBuffer is null when momentum is 0.
    void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay, bool nesterov);

    /// SgdStep over every parameter group at once, each gradient first multiplied by gradScale (a
    /// scalar tensor on the device: clipping's coefficient; null for 1), and nothing at all when
    /// skip (an int32 scalar: the loss scaler's found-inf flag) is non-zero. settings is float64
    /// [groups, 4] on the device, a row (lr, momentum, weight decay, nesterov 0 or 1) per group;
    /// groups[i] is parameter i's row. All three are read by the kernel, so the host never waits
    /// for them and a captured step reads this step's learning rates.
    void MultiTensorSgd(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor?> momentumBuffers,
        IReadOnlyList<int> groups, Tensor? gradScale, Tensor? skip, Tensor settings);

    /// One Adam (decoupled = false: L2 weight decay added to the gradient) or AdamW (decoupled:
    /// p *= 1 - lr·wd) step as torch.optim computes it; step counts from 1.
    void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
        double weightDecay, bool decoupled, int step);

    /// Mixed precision's unscale over every gradient at once: g *= 1 / scale in place (scale: the
    /// loss scaler's float32 scalar on the device), and foundNonFinite (an int32 scalar) is set to
    /// 1 if any value is infinite or NaN; the optimizer kernels read it to skip the step.
    void UnscaleAndCheck(IReadOnlyList<Tensor> grads, Tensor scale, Tensor foundNonFinite);

    /// torch.cuda.amp's _amp_update_scale_ on the device: after a step with foundNonFinite set,
    /// scale *= backoff, cleanSteps = 0 and skipped += 1; otherwise cleanSteps += 1, and when it
    /// reaches growthInterval, scale *= growth and cleanSteps = 0. scale is float32, the others int32 scalars.
    void UpdateScale(Tensor scale, Tensor cleanSteps, Tensor skipped, Tensor foundNonFinite, double growth, double backoff, int growthInterval);

    /// result (a float32 scalar) = Σ over the tensors of Σ x²: the gradient norm for clipping.
    /// With coefficient (a float32 scalar, float64 for float64 tensors; or null), also clip_grad_norm_'s factor from it in the
    /// same pass: min(1, maxNorm / (sqrt(result) + 1e-6)), computed in double, on the device.
    void SumOfSquares(IReadOnlyList<Tensor> tensors, Tensor result, Tensor? coefficient = null, double maxNorm = 0);

    /// Every tensor set to 0 (torch._foreach_zero_): the gradients a captured step keeps at fixed
    /// addresses, zeroed after each optimizer step in one launch instead of one per parameter.
    void MultiTensorZero(IReadOnlyList<Tensor> tensors);

    /// targets[i] = a·targets[i] + b·sources[i] for every i (the EMA update; a scale when b = 0),
    /// with coefficients float64 [a, b] on the device, read by the kernel.
    void MultiTensorAxpby(IReadOnlyList<Tensor> targets, IReadOnlyList<Tensor> sources, Tensor coefficients);
}
