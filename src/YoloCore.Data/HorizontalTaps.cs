using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace YoloCore.Data;

/// The horizontal step shared by the separable resize and warp: each output value (pixel × channel)
/// is src[off0]·w0 + src[off1]·w1 + k with 11-bit weights, k carrying a constant border's share.
/// Tables are expanded per channel so eight values come from two AVX2 gathers and a few multiplies
/// (a gather reads 4 bytes at a byte offset; RgbImage keeps 4 spare bytes so that never overruns).
sealed class HorizontalTaps
{
    readonly int[] off0, off1, w0, w1, k;
    public int Values { get; }

    /// Per output pixel: source pixel indices and weights (a weight of 0 for a tap outside the source)
    /// and the border's constant share.
    public HorizontalTaps(int[] x0, int[] x1, int[] a0, int[] a1, int[] constant)
    {
        int n = x0.Length;
        Values = n * 3;
        off0 = new int[Values]; off1 = new int[Values]; w0 = new int[Values]; w1 = new int[Values]; k = new int[Values];
        for (int x = 0; x < n; x++)
            for (int c = 0; c < 3; c++)
            {
                int j = x * 3 + c;
                off0[j] = x0[x] * 3 + c; off1[j] = x1[x] * 3 + c;
                w0[j] = a0[x]; w1[j] = a1[x]; k[j] = constant[x];
            }
    }

    public unsafe void Run(byte* src, int* dst)
    {
        fixed (int* o0 = off0, o1 = off1, pw0 = w0, pw1 = w1, pk = k)
        {
            int j = 0;
            if (Avx2.IsSupported)
            {
                var mask = Vector256.Create(0xFF);
                for (; j <= Values - 8; j += 8)
                {
                    var g0 = Avx2.GatherVector256((int*)src, Vector256.Load(o0 + j), 1) & mask;
                    var g1 = Avx2.GatherVector256((int*)src, Vector256.Load(o1 + j), 1) & mask;
                    (g0 * Vector256.Load(pw0 + j) + g1 * Vector256.Load(pw1 + j) + Vector256.Load(pk + j)).Store(dst + j);
                }
            }
            for (; j < Values; j++) dst[j] = src[o0[j]] * pw0[j] + src[o1[j]] * pw1[j] + pk[j];
        }
    }
}
