using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

/// Vectorised float32 versions of the activations and the affine map, which run over every
/// activation of the network. Ops not listed here fall back to the generic kernel.
internal static unsafe class FastUnaryFloat
{
    const long Grain = 1 << 15;

    public static bool TryForward(UnaryOp op, float* x, float* y, long n, double a, double b)
    {
        if (!Vector256.IsHardwareAccelerated) return false;
        float fa = (float)a, fb = (float)b;
        switch (op)
        {
            case UnaryOp.Sigmoid: Map(x, y, n, v => VectorMath.Sigmoid(v), VectorMath.Sigmoid); return true;
            case UnaryOp.Silu: Map(x, y, n, v => v * VectorMath.Sigmoid(v), v => v * VectorMath.Sigmoid(v)); return true;
            case UnaryOp.Exp: Map(x, y, n, v => VectorMath.Exp(v), VectorMath.Exp); return true;
            case UnaryOp.Affine:
                var va = Vector256.Create(fa);
                var vb = Vector256.Create(fb);
                Map(x, y, n, v => v * va + vb, v => v * fa + fb);
                return true;
            default: return false;
        }
    }

    public static bool TryBackward(UnaryOp op, float* x, float* y, float* gy, float* gx, long n, double a)
    {
        if (!Vector256.IsHardwareAccelerated) return false;
        var one = Vector256.Create(1f);
        switch (op)
        {
            case UnaryOp.Sigmoid: Map2(y, gy, gx, n, (s, g) => g * s * (one - s), (s, g) => g * s * (1 - s)); return true;
            case UnaryOp.Exp: Map2(y, gy, gx, n, (e, g) => g * e, (e, g) => g * e); return true;
            case UnaryOp.Silu:
                Map2(x, gy, gx, n,
                    (v, g) => { var s = VectorMath.Sigmoid(v); return g * s * (one + v * (one - s)); },
                    (v, g) => { float s = VectorMath.Sigmoid(v); return g * s * (1 + v * (1 - s)); });
                return true;
            case UnaryOp.Affine:
                float fa = (float)a;
                var va = Vector256.Create(fa);
                Map2(gy, gy, gx, n, (g, _) => g * va, (g, _) => g * fa);
                return true;
            default: return false;
        }
    }

    static void Map(float* x, float* y, long n, Func<Vector256<float>, Vector256<float>> vf, Func<float, float> sf) =>
        CpuParallel.For((n + 7) / 8, Grain / 8, (s, e) =>
        {
            long i = s * 8, end = Math.Min(e * 8, n);
            for (; i + 8 <= end; i += 8) vf(Vector256.Load(x + i)).Store(y + i);
            for (; i < end; i++) y[i] = sf(x[i]);
        });

    static void Map2(float* u, float* v, float* y, long n,
        Func<Vector256<float>, Vector256<float>, Vector256<float>> vf, Func<float, float, float> sf) =>
        CpuParallel.For((n + 7) / 8, Grain / 8, (s, e) =>
        {
            long i = s * 8, end = Math.Min(e * 8, n);
            for (; i + 8 <= end; i += 8) vf(Vector256.Load(u + i), Vector256.Load(v + i)).Store(y + i);
            for (; i < end; i++) y[i] = sf(u[i], v[i]);
        });
}
