using System.Numerics;

namespace YoloCore.Cpu;

// One Adam/AdamW update of one parameter, as torch.optim.Adam and AdamW.
public sealed unsafe partial class CpuBackend
{
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
}
