using System.Numerics;

namespace YoloCore.Cpu;

// The multi-tensor ops of the optimizer step: unscale and check, sum of squares (for clipping),
// axpby (EMA) and SGD over a list of parameters at once.
public sealed unsafe partial class CpuBackend
{
    public void UnscaleAndCheck(IReadOnlyList<Tensor> grads, Tensor scale, Tensor foundNonFinite)
    {
        double invScale = 1 / ScalarValue(scale);
        foreach (var grad in grads)
            Floating(grad, "UnscaleAndCheck", () => Unscale<float>(grad, invScale, foundNonFinite), () => Unscale<double>(grad, invScale, foundNonFinite));
    }

    public void SumOfSquares(IReadOnlyList<Tensor> tensors, Tensor result, Tensor? coefficient = null, double maxNorm = 0)
    {
        // Per tensor in double, added in list order: the same total whatever the threads.
        double total = 0;
        foreach (var t in tensors)
            total += UseFast(t) ? FastSumOfSquares(Ptr<float>(t), t.Count)
                : t.DType == DType.Float32 ? SumOfSquaresOf(Ptr<float>(t), t.Count) : SumOfSquaresOf(Ptr<double>(t), t.Count);
        Fill(result, total);
        if (coefficient is null) return;
        double c = maxNorm / (Math.Sqrt(ScalarValue(result)) + 1e-6);
        Fill(coefficient, c < 1 ? c : 1);
    }

    /// Σ x², in double, in index order.
    static double SumOfSquaresOf<T>(T* x, long n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double s = 0;
        for (long i = 0; i < n; i++)
        {
            double v = double.CreateTruncating(x[i]);
            s += v * v;
        }
        return s;
    }

    public void MultiTensorZero(IReadOnlyList<Tensor> tensors)
    {
        foreach (var t in tensors) Fill(t, 0);
    }

    public void MultiTensorAxpby(IReadOnlyList<Tensor> targets, IReadOnlyList<Tensor> sources, Tensor coefficients)
    {
        var (a, b) = (Setting(coefficients, 0), Setting(coefficients, 1));
        for (int i = 0; i < targets.Count; i++)
        {
            Unary(UnaryOp.Affine, targets[i], targets[i], a, 0);
            if (b != 0) AddInPlace(targets[i], sources[i], b);
        }
    }

    public void MultiTensorSgd(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor?> momentumBuffers,
        IReadOnlyList<int> groups, Tensor? gradScale, Tensor? skip, Tensor settings)
    {
        if (skip is not null && ScalarValue(skip) != 0) return;
        double scale = gradScale is null ? 1 : ScalarValue(gradScale);
        for (int i = 0; i < parameters.Count; i++)
        {
            int row = 4 * groups[i];
            if (scale != 1) Unary(UnaryOp.Affine, grads[i], grads[i], scale, 0);
            SgdStep(parameters[i], grads[i], momentumBuffers[i], Setting(settings, row), Setting(settings, row + 1), Setting(settings, row + 2),
                nesterov: Setting(settings, row + 3) != 0);
        }
    }

    public void UpdateScale(Tensor scale, Tensor cleanSteps, Tensor skipped, Tensor foundNonFinite, double growth, double backoff, int growthInterval)
    {
        float* s = Ptr<float>(scale);
        int* clean = Ptr<int>(cleanSteps);
        if (Ptr<int>(foundNonFinite)[0] != 0)
        {
            s[0] = (float)(s[0] * backoff);
            clean[0] = 0;
            Ptr<int>(skipped)[0]++;
            return;
        }
        if (++clean[0] >= growthInterval)
        {
            s[0] = (float)(s[0] * growth);
            clean[0] = 0;
        }
    }

    /// Element i of a float64 settings tensor (an optimizer's lr, momentum, decay; axpby's a, b).
    static double Setting(Tensor settings, int i)
    {
        if (settings.DType != DType.Float64 || settings.Count <= i) throw new ArgumentException($"{settings}: settings are float64 with at least {i + 1} values");
        return Ptr<double>(settings)[i];
    }

    /// The value of a one-element tensor (the scaler's state, a flag, a coefficient).
    static double ScalarValue(Tensor t)
    {
        if (t.Count != 1) throw new ArgumentException($"{t} is not a scalar");
        return t.DType switch
        {
            DType.Float32 => Ptr<float>(t)[0],
            DType.Float64 => Ptr<double>(t)[0],
            DType.Int32 => Ptr<int>(t)[0],
            _ => throw new ArgumentException($"{t}: a scalar of the optimizer step is float32, float64 or int32"),
        };
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
