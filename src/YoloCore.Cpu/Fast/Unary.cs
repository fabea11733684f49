using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

/// Vectorised float32 versions of the activations and the affine map, which run over every
/// activation of the network. Each function is a struct implementing an interface with static
/// members, so the generic loop is compiled once per function with the call inlined (a delegate
/// per vector cost about as much as the work). 512-bit vectors where the CPU has them, then 256,
/// then the scalar twin. Ops not listed fall back to the generic kernel.
internal static unsafe class FastUnary
{
    const long Grain = 1 << 15;

    interface IMap
    {
        static abstract Vector512<float> Apply(Vector512<float> x, Vector512<float> a, Vector512<float> b);
        static abstract Vector256<float> Apply(Vector256<float> x, Vector256<float> a, Vector256<float> b);
        static abstract float Apply(float x, float a, float b);
    }

    interface IMap2
    {
        static abstract Vector512<float> Apply(Vector512<float> u, Vector512<float> v, Vector512<float> a);
        static abstract Vector256<float> Apply(Vector256<float> u, Vector256<float> v, Vector256<float> a);
        static abstract float Apply(float u, float v, float a);
    }

    struct Sigmoid : IMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Apply(Vector512<float> x, Vector512<float> a, Vector512<float> b) => VectorMath.Sigmoid(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> a, Vector256<float> b) => VectorMath.Sigmoid(x);
        public static float Apply(float x, float a, float b) => VectorMath.Sigmoid(x);
    }

    struct Silu : IMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Apply(Vector512<float> x, Vector512<float> a, Vector512<float> b) => x * VectorMath.Sigmoid(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> a, Vector256<float> b) => x * VectorMath.Sigmoid(x);
        public static float Apply(float x, float a, float b) => x * VectorMath.Sigmoid(x);
    }

    struct Exp : IMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Apply(Vector512<float> x, Vector512<float> a, Vector512<float> b) => VectorMath.Exp(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> a, Vector256<float> b) => VectorMath.Exp(x);
        public static float Apply(float x, float a, float b) => VectorMath.Exp(x);
    }

    struct Affine : IMap
    {
        public static Vector512<float> Apply(Vector512<float> x, Vector512<float> a, Vector512<float> b) => x * a + b;
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> a, Vector256<float> b) => x * a + b;
        public static float Apply(float x, float a, float b) => x * a + b;
    }

    /// (y, gy) → gy·y·(1 - y)
    struct SigmoidGrad : IMap2
    {
        public static Vector512<float> Apply(Vector512<float> y, Vector512<float> g, Vector512<float> a) => g * y * (Vector512<float>.One - y);
        public static Vector256<float> Apply(Vector256<float> y, Vector256<float> g, Vector256<float> a) => g * y * (Vector256<float>.One - y);
        public static float Apply(float y, float g, float a) => g * y * (1 - y);
    }

    /// (y, gy) → gy·y
    struct ExpGrad : IMap2
    {
        public static Vector512<float> Apply(Vector512<float> y, Vector512<float> g, Vector512<float> a) => g * y;
        public static Vector256<float> Apply(Vector256<float> y, Vector256<float> g, Vector256<float> a) => g * y;
        public static float Apply(float y, float g, float a) => g * y;
    }

    /// (x, gy) → gy·σ(x)·(1 + x·(1 - σ(x)))
    struct SiluGrad : IMap2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Apply(Vector512<float> x, Vector512<float> g, Vector512<float> a)
        {
            var s = VectorMath.Sigmoid(x);
            return g * s * (Vector512<float>.One + x * (Vector512<float>.One - s));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> g, Vector256<float> a)
        {
            var s = VectorMath.Sigmoid(x);
            return g * s * (Vector256<float>.One + x * (Vector256<float>.One - s));
        }

        public static float Apply(float x, float g, float a)
        {
            float s = VectorMath.Sigmoid(x);
            return g * s * (1 + x * (1 - s));
        }
    }

    /// (gy, _) → gy·a
    struct AffineGrad : IMap2
    {
        public static Vector512<float> Apply(Vector512<float> g, Vector512<float> _, Vector512<float> a) => g * a;
        public static Vector256<float> Apply(Vector256<float> g, Vector256<float> _, Vector256<float> a) => g * a;
        public static float Apply(float g, float _, float a) => g * a;
    }

    public static bool TryForward(UnaryOp op, float* x, float* y, long n, double a, double b)
    {
        if (!Vector256.IsHardwareAccelerated) return false;
        float fa = (float)a, fb = (float)b;
        switch (op)
        {
            case UnaryOp.Sigmoid: Map<Sigmoid>(x, y, n, fa, fb); return true;
            case UnaryOp.Silu: Map<Silu>(x, y, n, fa, fb); return true;
            case UnaryOp.Exp: Map<Exp>(x, y, n, fa, fb); return true;
            case UnaryOp.Affine: Map<Affine>(x, y, n, fa, fb); return true;
            default: return false;
        }
    }

    public static bool TryBackward(UnaryOp op, float* x, float* y, float* gy, float* gx, long n, double a)
    {
        if (!Vector256.IsHardwareAccelerated) return false;
        float fa = (float)a;
        switch (op)
        {
            case UnaryOp.Sigmoid: Map2<SigmoidGrad>(y, gy, gx, n, fa); return true;
            case UnaryOp.Exp: Map2<ExpGrad>(y, gy, gx, n, fa); return true;
            case UnaryOp.Silu: Map2<SiluGrad>(x, gy, gx, n, fa); return true;
            case UnaryOp.Affine: Map2<AffineGrad>(gy, gy, gx, n, fa); return true;
            default: return false;
        }
    }

    static void Map<F>(float* x, float* y, long n, float a, float b) where F : struct, IMap =>
        CpuParallel.For((n + 7) / 8, Grain / 8, (s, e) => MapRange<F>(x, y, s * 8, Math.Min(e * 8, n), a, b));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MapRange<F>(float* x, float* y, long i, long end, float a, float b) where F : struct, IMap
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var wa = Vector512.Create(a);
            var wb = Vector512.Create(b);
            for (; i + 16 <= end; i += 16) F.Apply(Vector512.Load(x + i), wa, wb).Store(y + i);
        }
        var va = Vector256.Create(a);
        var vb = Vector256.Create(b);
        for (; i + 8 <= end; i += 8) F.Apply(Vector256.Load(x + i), va, vb).Store(y + i);
        for (; i < end; i++) y[i] = F.Apply(x[i], a, b);
    }

    static void Map2<F>(float* u, float* v, float* y, long n, float a) where F : struct, IMap2 =>
        CpuParallel.For((n + 7) / 8, Grain / 8, (s, e) => Map2Range<F>(u, v, y, s * 8, Math.Min(e * 8, n), a));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Map2Range<F>(float* u, float* v, float* y, long i, long end, float a) where F : struct, IMap2
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var wa = Vector512.Create(a);
            for (; i + 16 <= end; i += 16) F.Apply(Vector512.Load(u + i), Vector512.Load(v + i), wa).Store(y + i);
        }
        var va = Vector256.Create(a);
        for (; i + 8 <= end; i += 8) F.Apply(Vector256.Load(u + i), Vector256.Load(v + i), va).Store(y + i);
        for (; i < end; i++) y[i] = F.Apply(u[i], v[i], a);
    }
}
