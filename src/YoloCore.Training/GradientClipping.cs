using YoloCore.Autograd;

namespace YoloCore.Training;

/// torch.nn.utils.clip_grad_norm_: scales all gradients by max_norm / (‖g‖ + 1e-6) when the total
/// L2 norm exceeds max_norm. Returns the norm before clipping.
public static class GradientClipping
{
    public static double ClipByNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        double sq;
        // Per-tensor sums of squares add up on the device; the host reads the total once.
        using (TensorScope.Begin())
        using (GradMode.NoGrad())
        {
            Tensor? total = null;
            foreach (var g in grads)
            {
                var g32 = g.DType == DType.Float32 ? g : g.Cast(DType.Float32);
                var s = (g32 * g32).Sum();
                total = total is null ? s : total + s;
            }
            sq = total!.Item();
        }
        double norm = Math.Sqrt(sq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
            foreach (var g in grads) g.Backend.Unary(UnaryOp.Affine, g, g, coef, 0);
        return norm;
    }
}
