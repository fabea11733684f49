using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

/// Vectorised float32 transcendental functions for the hot activations (SiLU and sigmoid run on
/// every activation of every layer). exp uses the Cephes range reduction x = n·ln2 + r and a
/// degree-6 polynomial for e^r: about 2 ulp over the float range, far below the 1e-5 agreement
/// the float32 backend promises against float64. Each function has a 512-bit and a 256-bit form
/// with the same per-lane arithmetic (fused multiply-adds in both), so a value does not depend on
/// which width, or the scalar twin, computed it. 512 bits run SiLU 1.7× faster than 256 on this
/// CI machine's AVX-512 (docs/perf.md).
internal static class VectorMath
{
    const float Log2E = 1.44269504088896341f;
    const float Ln2Hi = 0.693359375f;
    const float Ln2Lo = -2.12194440e-4f;
    const float MaxArg = 88.3762626647949f;
    const float MinArg = -87.3365478515625f; // below this e^x underflows float's normal range
    const float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f, P3 = 4.1665795894E-2f,
        P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(MinArg)), Vector256.Create(MaxArg));
        var n = Vector256.Floor(Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), Vector256.Create(0.5f)));
        var r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Lo), Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Hi), x));
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        var e = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        return e * Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(MinArg)), Vector512.Create(MaxArg));
        var n = Vector512.Floor(Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(0.5f)));
        var r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Lo), Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Hi), x));
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        var e = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        return e * Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp(-x));

    /// Scalar twin with the same arithmetic, for the tail elements, so a tensor's values do not
    /// depend on where the vector loop ended.
    public static float Exp(float x) => Exp(Vector256.Create(x)).ToScalar();
    public static float Sigmoid(float x) => Sigmoid(Vector256.Create(x)).ToScalar();

    /// dst[i] += src[i], eight lanes at a time.
    public static unsafe void AddInto(Span<float> dst, ReadOnlySpan<float> src)
    {
        int i = 0;
        fixed (float* d = dst, s = src)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= dst.Length; i += 8) (Vector256.Load(d + i) + Vector256.Load(s + i)).Store(d + i);
            for (; i < dst.Length; i++) d[i] += s[i];
        }
    }
}
