using YoloCore.Autograd;

namespace YoloCore.Training;

/// torch.nn.utils.clip_grad_norm_: scales all gradients by max_norm / (‖g‖ + 1e-6) when the total
/// L2 norm exceeds max_norm. Returns the norm before clipping.
public static class GradientClipping
{
    public static double ClipByNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        double sq = 0;
        using (TensorScope.Begin())
        using (GradMode.NoGrad())
            foreach (var g in grads) sq += (g * g).Sum().Item();
        double norm = Math.Sqrt(sq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
            foreach (var g in grads) g.Backend.Unary(UnaryOp.Affine, g, g, coef, 0);
        return norm;
    }
}
