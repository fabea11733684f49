using System.Numerics;

namespace YoloCore.Cpu;

// Binary cross-entropy on logits in PyTorch's stable form:
//   loss = (1 - t)·x + w·(log(1 + e^-|x|) + max(-x, 0)),  w = (pw - 1)·t + 1
//   ∂/∂x = w·σ(x) - pw·t        ∂/∂t = -x + (pw - 1)·softplus(-x)
public sealed unsafe partial class CpuBackend
{
    public void BceWithLogits(Tensor x, Tensor target, double posWeight, Tensor loss) =>
        Floating(x, "BceWithLogits", () => BceKernel<float>.Forward(x, target, posWeight, loss), () => BceKernel<double>.Forward(x, target, posWeight, loss));

    public void BceWithLogitsBackward(Tensor x, Tensor target, double posWeight, Tensor gy, Tensor? gx, Tensor? gtarget) =>
        Floating(x, "BceWithLogits", () => BceKernel<float>.Backward(x, target, posWeight, gy, gx, gtarget), () => BceKernel<double>.Backward(x, target, posWeight, gy, gx, gtarget));

    static class BceKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static T SoftplusNeg(T x) => T.Log(T.One + T.Exp(-T.Abs(x))) + T.Max(-x, T.Zero); // log(1 + e^-x)

        public static void Forward(Tensor x, Tensor target, double posWeight, Tensor loss)
        {
            T* px = Ptr<T>(x), pt = Ptr<T>(target), pl = Ptr<T>(loss);
            T pw = Cast<T>(posWeight);
            CpuParallel.For(x.Count, ElementwiseGrain, (s, e) =>
            {
                for (long i = s; i < e; i++)
                {
                    T t = pt[i], w = (pw - T.One) * t + T.One;
                    pl[i] = (T.One - t) * px[i] + w * SoftplusNeg(px[i]);
                }
            });
        }

        public static void Backward(Tensor x, Tensor target, double posWeight, Tensor gy, Tensor? gx, Tensor? gtarget)
        {
            T* px = Ptr<T>(x), pt = Ptr<T>(target), pg = Ptr<T>(gy);
            T* pgx = gx is null ? null : Ptr<T>(gx), pgt = gtarget is null ? null : Ptr<T>(gtarget);
            T pw = Cast<T>(posWeight);
            CpuParallel.For(x.Count, ElementwiseGrain, (s, e) =>
            {
                for (long i = s; i < e; i++)
                {
                    T v = px[i], t = pt[i], w = (pw - T.One) * t + T.One;
                    if (pgx != null) pgx[i] = pg[i] * (w / (T.One + T.Exp(-v)) - pw * t);
                    if (pgt != null) pgt[i] = pg[i] * (-v + (pw - T.One) * SoftplusNeg(v));
                }
            });
        }
    }
}
