using System.Numerics;

namespace YoloCore.Cpu;

// Elementwise functions of one tensor and their derivatives (see UnaryOp for a and b).
public sealed unsafe partial class CpuBackend
{
    const long ElementwiseGrain = 1 << 15;

    public void Unary(UnaryOp op, Tensor x, Tensor y, double a = 0, double b = 0)
    {
        if (UseFast(x) && FastUnary.TryForward(op, Ptr<float>(x), Ptr<float>(y), x.Count, a, b)) return;
        Floating(x, op.ToString(), () => UnaryKernel<float>.Forward(op, x, y, a, b), () => UnaryKernel<double>.Forward(op, x, y, a, b));
    }

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a = 0, double b = 0)
    {
        if (UseFast(x) && FastUnary.TryBackward(op, Ptr<float>(x), Ptr<float>(y), Ptr<float>(gy), Ptr<float>(gx), x.Count, a)) return;
        Floating(x, op.ToString(), () => UnaryKernel<float>.Backward(op, x, y, gy, gx, a, b), () => UnaryKernel<double>.Backward(op, x, y, gy, gx, a, b));
    }

    static class UnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Forward(UnaryOp op, Tensor x, Tensor y, double a, double b)
        {
            T* px = Ptr<T>(x), py = Ptr<T>(y);
            T ta = Cast<T>(a), tb = Cast<T>(b);
            CpuParallel.For(x.Count, ElementwiseGrain, (s, e) =>
            {
                for (long i = s; i < e; i++) py[i] = F(op, px[i], ta, tb);
            });
        }

        static T F(UnaryOp op, T x, T a, T b) => op switch
        {
            UnaryOp.Neg => -x,
            UnaryOp.Exp => T.Exp(x),
            UnaryOp.Log => T.Log(x),
            UnaryOp.Sqrt => T.Sqrt(x),
            UnaryOp.Square => x * x,
            UnaryOp.Abs => T.Abs(x),
            UnaryOp.Atan => T.Atan(x),
            UnaryOp.Sigmoid => T.One / (T.One + T.Exp(-x)),
            UnaryOp.Silu => x / (T.One + T.Exp(-x)),
            UnaryOp.Affine => a * x + b,
            UnaryOp.PowScalar => T.Pow(x, a),
            UnaryOp.Clamp => T.Min(T.Max(x, a), b),
            _ => throw new NotSupportedException(op.ToString()),
        };

        public static void Backward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a, double b)
        {
            T* px = Ptr<T>(x), py = Ptr<T>(y), pg = Ptr<T>(gy), pgx = Ptr<T>(gx);
            T ta = Cast<T>(a), tb = Cast<T>(b);
            CpuParallel.For(x.Count, ElementwiseGrain, (s, e) =>
            {
                for (long i = s; i < e; i++) pgx[i] = pg[i] * Derivative(op, px[i], py[i], ta, tb);
            });
        }

        static T Derivative(UnaryOp op, T x, T y, T a, T b)
        {
            T two = T.One + T.One;
            switch (op)
            {
                case UnaryOp.Neg: return -T.One;
                case UnaryOp.Exp: return y;
                case UnaryOp.Log: return T.One / x;
                case UnaryOp.Sqrt: return T.One / (two * y);
                case UnaryOp.Square: return two * x;
                case UnaryOp.Abs: return x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero;
                case UnaryOp.Atan: return T.One / (T.One + x * x);
                case UnaryOp.Sigmoid: return y * (T.One - y);
                case UnaryOp.Silu:
                    T s = T.One / (T.One + T.Exp(-x));
                    return s * (T.One + x * (T.One - s));
                case UnaryOp.Affine: return a;
                case UnaryOp.PowScalar: return a == T.Zero ? T.Zero : a * T.Pow(x, a - T.One);
                // PyTorch passes the gradient where min <= x <= max, boundaries included.
                case UnaryOp.Clamp: return x >= a && x <= b ? T.One : T.Zero;
                default: throw new NotSupportedException(op.ToString());
            }
        }
    }
}
