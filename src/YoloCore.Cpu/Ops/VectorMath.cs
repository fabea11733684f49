using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

/// Vectorised float32 transcendental functions for the hot activations (SiLU and sigmoid run on
/// every activation of every layer). exp uses the Cephes range reduction x = n·ln2 + r and a
/// degree-6 polynomial for e^r: about 2 ulp over the float range, far below the 1e-5 agreement
/// the float32 backend promises against float64.
internal static class VectorMath
{
    const float Log2E = 1.44269504088896341f;
    const float Ln2Hi = 0.693359375f;
    const float Ln2Lo = -2.12194440e-4f;
    const float MaxArg = 88.3762626647949f;
    const float MinArg = -87.3365478515625f; // below this e^x underflows float's normal range

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(MinArg)), Vector256.Create(MaxArg));
        var n = Vector256.Floor(x * Vector256.Create(Log2E) + Vector256.Create(0.5f));
        var r = x - n * Vector256.Create(Ln2Hi) - n * Vector256.Create(Ln2Lo);
        var p = Vector256.Create(1.9875691500E-4f);
        p = p * r + Vector256.Create(1.3981999507E-3f);
        p = p * r + Vector256.Create(8.3334519073E-3f);
        p = p * r + Vector256.Create(4.1665795894E-2f);
        p = p * r + Vector256.Create(1.6666665459E-1f);
        p = p * r + Vector256.Create(5.0000001201E-1f);
        var e = p * r * r + r + Vector256.Create(1f);
        var pow2n = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return e * pow2n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) =>
        Vector256.Create(1f) / (Vector256.Create(1f) + Exp(-x));

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
