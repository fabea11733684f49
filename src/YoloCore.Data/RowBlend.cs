using System.Runtime.Intrinsics;

namespace YoloCore.Data;

/// The vertical step shared by the separable resize and warp: out = (a·wa + b·wb + ½) >> 22 for two
/// rows of 11-bit-weighted horizontal results, 32 values per SIMD iteration where available.
static class RowBlend
{
    public const int Bits = 22;

    public static unsafe void Blend(int* a, int* b, int wa, int wb, byte* o, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(wa);
            var vb = Vector256.Create(wb);
            var round = Vector256.Create(1 << (Bits - 1));
            for (; i <= n - 32; i += 32)
            {
                var r0 = Vector256.ShiftRightArithmetic(Vector256.Load(a + i) * va + Vector256.Load(b + i) * vb + round, Bits);
                var r1 = Vector256.ShiftRightArithmetic(Vector256.Load(a + i + 8) * va + Vector256.Load(b + i + 8) * vb + round, Bits);
                var r2 = Vector256.ShiftRightArithmetic(Vector256.Load(a + i + 16) * va + Vector256.Load(b + i + 16) * vb + round, Bits);
                var r3 = Vector256.ShiftRightArithmetic(Vector256.Load(a + i + 24) * va + Vector256.Load(b + i + 24) * vb + round, Bits);
                // Values are already 0..255, so plain (truncating) narrowing is exact.
                var lo = Vector256.Narrow(r0, r1);
                var hi = Vector256.Narrow(r2, r3);
                Vector256.Narrow(lo.AsUInt16(), hi.AsUInt16()).Store(o + i);
            }
        }
        for (; i < n; i++) o[i] = (byte)((a[i] * wa + b[i] * wb + (1 << (Bits - 1))) >> Bits);
    }

    /// cv2.resize's INTER_LINEAR vertical step for uint8 as its SIMD code computes it (so results are
    /// bit-exact): rows scaled down by 16, a high-half 16-bit product with each weight, rounded by 4.
    public static unsafe void BlendResize(int* a, int* b, int wa, int wb, byte* o, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(wa);
            var vb = Vector256.Create(wb);
            var two = Vector256.Create(2);
            var max = Vector256.Create(255);
            Vector256<int> Step(int j) => Vector256.Min(max, Vector256.ShiftRightArithmetic(
                Vector256.ShiftRightArithmetic(Vector256.ShiftRightArithmetic(Vector256.Load(a + j), 4) * va, 16) +
                Vector256.ShiftRightArithmetic(Vector256.ShiftRightArithmetic(Vector256.Load(b + j), 4) * vb, 16) + two, 2));
            for (; i <= n - 32; i += 32)
            {
                var lo = Vector256.Narrow(Step(i), Step(i + 8));
                var hi = Vector256.Narrow(Step(i + 16), Step(i + 24));
                Vector256.Narrow(lo.AsUInt16(), hi.AsUInt16()).Store(o + i);
            }
        }
        for (; i < n; i++)
        {
            int v = ((((a[i] >> 4) * wa) >> 16) + (((b[i] >> 4) * wb) >> 16) + 2) >> 2;
            o[i] = (byte)Math.Min(v, 255);
        }
    }
}
