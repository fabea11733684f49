using System.Numerics;

namespace YoloCore.Cpu;

// Elementwise functions of two tensors with NumPy broadcasting, and their partial derivatives.
public sealed unsafe partial class CpuBackend
{
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) =>
        Floating(a, op.ToString(), () => BinaryKernel<float>.Forward(op, a, b, y), () => BinaryKernel<double>.Forward(op, a, b, y));

    public void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb) =>
        Floating(a, op.ToString(), () => BinaryKernel<float>.Backward(op, a, b, gy, ga, gb), () => BinaryKernel<double>.Backward(op, a, b, gy, ga, gb));

    public void AddInPlace(Tensor destination, Tensor source, double alpha = 1)
    {
        if (destination.Shape != source.Shape) throw new ArgumentException($"AddInPlace: {destination.Shape} += {source.Shape}");
        Floating(destination, "AddInPlace", () => { if (UseFast(destination)) FastAxpy(destination, source, (float)alpha); else Axpy<float>(destination, source, alpha); },
            () => Axpy<double>(destination, source, alpha));
    }

    /// gx += what write puts in a fresh tensor: a backward's addToGx, computed apart, then added.
    void AddWritten(Tensor gx, Action<Tensor> write)
    {
        using var own = Tensor.Empty(gx.Shape, gx.DType, gx.Device);
        write(own);
        AddInPlace(gx, own);
    }

    static void Axpy<T>(Tensor destination, Tensor source, double alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* d = Ptr<T>(destination), s = Ptr<T>(source);
        T a = Cast<T>(alpha);
        CpuParallel.For(destination.Count, ElementwiseGrain, (lo, hi) =>
        {
            for (long i = lo; i < hi; i++) d[i] += a * s[i];
        });
    }

    static class BinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static T F(BinaryOp op, T a, T b) => op switch
        {
            BinaryOp.Add => a + b,
            BinaryOp.Sub => a - b,
            BinaryOp.Mul => a * b,
            BinaryOp.Div => a / b,
            BinaryOp.Pow => T.Pow(a, b),
            BinaryOp.Minimum => T.Min(a, b),
            BinaryOp.Maximum => T.Max(a, b),
            _ => throw new NotSupportedException(op.ToString()),
        };

        public static void Forward(BinaryOp op, Tensor a, Tensor b, Tensor y)
        {
            T* pa = Ptr<T>(a), pb = Ptr<T>(b), py = Ptr<T>(y);
            if (a.Shape == b.Shape)
            {
                CpuParallel.For(y.Count, ElementwiseGrain, (s, e) =>
                {
                    for (long i = s; i < e; i++) py[i] = F(op, pa[i], pb[i]);
                });
                return;
            }
            var wa = new BroadcastWalk(y.Shape, a.Shape);
            var wb = new BroadcastWalk(y.Shape, b.Shape);
            int len = wa.RowLength;
            long sa = wa.InnerStep, sb = wb.InnerStep;
            CpuParallel.For(wa.RowCount, Math.Max(1, ElementwiseGrain / Math.Max(1, len)), (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    T* ra = pa + wa.RowOffset(r), rb = pb + wb.RowOffset(r), ry = py + r * len;
                    for (int i = 0; i < len; i++) ry[i] = F(op, ra[i * sa], rb[i * sb]);
                }
            });
        }

        /// ga = gy·∂y/∂a and gb = gy·∂y/∂b at the broadcast shape.
        public static void Backward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb)
        {
            T* pa = Ptr<T>(a), pb = Ptr<T>(b), pg = Ptr<T>(gy);
            T* pga = ga is null ? null : Ptr<T>(ga), pgb = gb is null ? null : Ptr<T>(gb);
            var wa = new BroadcastWalk(gy.Shape, a.Shape);
            var wb = new BroadcastWalk(gy.Shape, b.Shape);
            int len = wa.RowLength;
            long sa = wa.InnerStep, sb = wb.InnerStep;
            T half = T.One / (T.One + T.One);
            CpuParallel.For(wa.RowCount, Math.Max(1, ElementwiseGrain / Math.Max(1, len)), (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    T* ra = pa + wa.RowOffset(r), rb = pb + wb.RowOffset(r);
                    long o = r * len;
                    for (int i = 0; i < len; i++)
                    {
                        T x = ra[i * sa], z = rb[i * sb], g = pg[o + i];
                        T da, db;
                        switch (op)
                        {
                            case BinaryOp.Add: da = T.One; db = T.One; break;
                            case BinaryOp.Sub: da = T.One; db = -T.One; break;
                            case BinaryOp.Mul: da = z; db = x; break;
                            case BinaryOp.Div: da = T.One / z; db = -x / (z * z); break;
                            case BinaryOp.Pow:
                                da = z * T.Pow(x, z - T.One);
                                db = x > T.Zero ? T.Pow(x, z) * T.Log(x) : T.Zero;
                                break;
                            // Ties split the gradient in half, as PyTorch does.
                            case BinaryOp.Minimum: da = x < z ? T.One : x == z ? half : T.Zero; db = T.One - da; break;
                            case BinaryOp.Maximum: da = x > z ? T.One : x == z ? half : T.Zero; db = T.One - da; break;
                            default: throw new NotSupportedException(op.ToString());
                        }
                        if (pga != null) pga[o + i] = g * da;
                        if (pgb != null) pgb[o + i] = g * db;
                    }
                }
            });
        }
    }
}
