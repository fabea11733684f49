using System.Numerics;

namespace YoloCore.Cpu;

// The multi-tensor ops of the optimizer step: unscale and check, sum of squares (for clipping),
// axpby (EMA) and SGD over a list of parameters at once.
public sealed unsafe partial class CpuBackend
{
    public void UnscaleAndCheck(IReadOnlyList<Tensor> grads, double invScale, Tensor foundNonFinite)
    {
        foreach (var grad in grads)
            Floating(grad, "UnscaleAndCheck", () => Unscale<float>(grad, invScale, foundNonFinite), () => Unscale<double>(grad, invScale, foundNonFinite));
    }

    public void SumOfSquares(IReadOnlyList<Tensor> tensors, Tensor result)
    {
        // Per tensor in double, added in list order: the same total whatever the threads.
        double total = 0;
        foreach (var t in tensors)
            total += t.DType == DType.Float32 ? SumOfSquaresFloat(Ptr<float>(t), t.Count) : SumOfSquaresDouble(Ptr<double>(t), t.Count);
        Fill(result, total);
    }

    // Widened to double lane by lane with two accumulators; a fixed order for a given vector width.
    static double SumOfSquaresFloat(float* x, long n)
    {
        var acc0 = Vector<double>.Zero; var acc1 = Vector<double>.Zero;
        long i = 0;
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            Vector.Widen(Vector.Load(x + i), out var lo, out var hi);
            acc0 += lo * lo;
            acc1 += hi * hi;
        }
        double s = Vector.Sum(acc0 + acc1);
        for (; i < n; i++) s += (double)x[i] * x[i];
        return s;
    }

    static double SumOfSquaresDouble(double* x, long n)
    {
        double s = 0;
        for (long i = 0; i < n; i++) s += x[i] * x[i];
        return s;
    }

    public void MultiTensorAxpby(IReadOnlyList<Tensor> targets, IReadOnlyList<Tensor> sources, double a, double b)
    {
        for (int i = 0; i < targets.Count; i++)
        {
            Unary(UnaryOp.Affine, targets[i], targets[i], a, 0);
            if (b != 0) AddInPlace(targets[i], sources[i], b);
        }
    }

    public void MultiTensorSgd(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor?> momentumBuffers,
        double gradScale, double lr, double momentum, double weightDecay, bool nesterov)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            if (gradScale != 1) Unary(UnaryOp.Affine, grads[i], grads[i], gradScale, 0);
            SgdStep(parameters[i], grads[i], momentumBuffers[i], lr, momentum, weightDecay, nesterov);
        }
    }

    static void Unscale<T>(Tensor grad, double invScale, Tensor found) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* g = Ptr<T>(grad);
        T inv = Cast<T>(invScale);
        bool bad = false;
        for (long i = 0; i < grad.Count; i++)
        {
            g[i] *= inv;
            if (!T.IsFinite(g[i])) bad = true;
        }
        if (bad) Ptr<int>(found)[0] = 1;
    }
}
