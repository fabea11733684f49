using System.Numerics;

namespace YoloCore.Cpu;

// Plain 2-D matrix product and the optimizer updates (SGD, Adam/AdamW).
public sealed unsafe partial class CpuBackend
{
    public void MatMul(Tensor a, Tensor b, bool transA, bool transB, Tensor y, bool accumulate = false) =>
        Floating(a, "MatMul", () => MatMulKernel<float>(a, b, transA, transB, y, accumulate), () => MatMulKernel<double>(a, b, transA, transB, y, accumulate));

    static void MatMulKernel<T>(Tensor a, Tensor b, bool ta, bool tb, Tensor y, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = y.Shape[0], n = y.Shape[1], k = ta ? a.Shape[0] : a.Shape[1];
        Gemm.Multiply(ta, tb, m, n, k, Ptr<T>(a), a.Shape[1], Ptr<T>(b), b.Shape[1], Ptr<T>(y), n, accumulate);
    }

    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay, bool nesterov) =>
        Floating(param, "SgdStep", () => Sgd<float>(param, grad, momentumBuffer, lr, momentum, weightDecay, nesterov),
            () => Sgd<double>(param, grad, momentumBuffer, lr, momentum, weightDecay, nesterov));

    static void Sgd<T>(Tensor param, Tensor grad, Tensor? buffer, double lr, double momentum, double weightDecay, bool nesterov)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* p = Ptr<T>(param), g = Ptr<T>(grad), buf = buffer is null ? null : Ptr<T>(buffer);
        T tlr = Cast<T>(lr), m = Cast<T>(momentum), wd = Cast<T>(weightDecay);
        CpuParallel.For(param.Count, ElementwiseGrain, (s, e) =>
        {
            for (long i = s; i < e; i++)
            {
                T d = g[i] + wd * p[i];
                if (buf != null)
                {
                    buf[i] = m * buf[i] + d;
                    d = nesterov ? d + m * buf[i] : buf[i];
                }
                p[i] -= tlr * d;
            }
        });
    }

    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
        double weightDecay, bool decoupled, int step) =>
        Floating(param, "AdamStep", () => Adam<float>(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step),
            () => Adam<double>(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step));

    static void Adam<T>(Tensor param, Tensor grad, Tensor mt, Tensor vt, double lr, double beta1, double beta2, double eps,
        double weightDecay, bool decoupled, int step) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* p = Ptr<T>(param), g = Ptr<T>(grad), m = Ptr<T>(mt), v = Ptr<T>(vt);
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        T stepSize = Cast<T>(lr / bc1), sqrtBc2 = Cast<T>(Math.Sqrt(bc2)), b1 = Cast<T>(beta1), b2 = Cast<T>(beta2);
        T e = Cast<T>(eps), wd = Cast<T>(weightDecay), shrink = Cast<T>(1 - lr * weightDecay);
        CpuParallel.For(param.Count, ElementwiseGrain, (s, end) =>
        {
            for (long i = s; i < end; i++)
            {
                T d = g[i];
                if (decoupled) p[i] *= shrink;
                else d += wd * p[i];
                m[i] = b1 * m[i] + (T.One - b1) * d;
                v[i] = b2 * v[i] + (T.One - b2) * d * d;
                p[i] -= stepSize * m[i] / (T.Sqrt(v[i]) / sqrtBc2 + e);
            }
        });
    }

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
