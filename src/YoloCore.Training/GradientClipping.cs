namespace YoloCore.Training;

/// torch.nn.utils.clip_grad_norm_: scales all gradients by max_norm / (‖g‖ + 1e-6) when the total
/// L2 norm exceeds max_norm.
public static class GradientClipping
{
    /// Clips in place and returns the norm before clipping (reads it back: for tests and tools,
    /// not the training step, which folds Coefficient into the optimizer's update).
    public static double ClipByNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        using var total = SumOfSquares(grads);
        double norm = Math.Sqrt(total.Item());
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) Scale(grads, coef);
        return norm;
    }

    /// grads *= factor in place, one multi-tensor pass (a host factor: tools and Adam).
    public static void Scale(IReadOnlyList<Tensor> grads, double factor)
    {
        if (grads.Count == 0) return;
        using var coefficients = Tensor.FromDoubles([factor, 0], new Shape(2), DType.Float64, grads[0].Device);
        grads[0].Backend.Extension<IOptimizerKernels>().MultiTensorAxpby(grads, grads, coefficients);
    }

    /// The factor clipping applies (1 within the limit) as a scalar on the device, float32 (float64
    /// for float64 gradients); null when there are no gradients. The optimizer's kernel reads it,
    /// so the host does not wait for the norm.
    public static Tensor? Coefficient(IReadOnlyList<Tensor> grads, double maxNorm)
    {
        if (grads.Count == 0) return null;
        using var total = Tensor.Empty(new Shape(), DType.Float32, grads[0].Device);
        var coef = Tensor.Empty(new Shape(), grads[0].DType == DType.Float64 ? DType.Float64 : DType.Float32, grads[0].Device);
        grads[0].Backend.Extension<IOptimizerKernels>().SumOfSquares(grads, total, coef, maxNorm);
        return coef;
    }

    static Tensor SumOfSquares(IReadOnlyList<Tensor> grads)
    {
        var total = Tensor.Empty(new Shape(), DType.Float32, grads[0].Device);
        grads[0].Backend.Extension<IOptimizerKernels>().SumOfSquares(grads, total);
        return total;
    }
}
