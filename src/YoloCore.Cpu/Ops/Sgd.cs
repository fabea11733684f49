using System.Numerics;

namespace YoloCore.Cpu;

// One SGD update of one parameter (momentum, nesterov, weight decay), as torch.optim.SGD.
public sealed unsafe partial class CpuBackend
{
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
}
