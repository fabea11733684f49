
namespace YoloCore.Training;

/// torch.nn.utils.clip_grad_norm_: scales all gradients by max_norm / (‖g‖ + 1e-6) when the total
/// L2 norm exceeds max_norm. Returns the norm before clipping.
public static class GradientClipping
{
    public static double ClipByNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        double coef = Coefficient(grads, maxNorm, out double norm);
        if (coef < 1) grads[0].Backend.Extension<IOptimizerKernels>().MultiTensorAxpby(grads, grads, coef, 0);
        return norm;
    }

    /// The factor clipping would apply (1 when the norm is within the limit), so an optimizer can
    /// fold it into its update instead of rewriting every gradient.
    public static double Coefficient(IReadOnlyList<Tensor> grads, double maxNorm, out double norm)
    {
        norm = 0;
        if (grads.Count == 0) return 1;
        using (var total = Tensor.Zeros(new Shape(), DType.Float32, grads[0].Device))
        {
            grads[0].Backend.Extension<IOptimizerKernels>().SumOfSquares(grads, total);
            norm = Math.Sqrt(total.Item());
        }
        double coef = maxNorm / (norm + 1e-6);
        return coef < 1 ? coef : 1;
    }
}
