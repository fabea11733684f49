using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

/// Per-channel sums down the rows of a float32 [rows, C] matrix (NHWC with rows = N·H·W), the
/// reduction behind bias gradients. Each fixed chunk of rows accumulates in float32
/// vectors across channels; chunk results are added in double in chunk order, so the sums are
/// accurate and do not depend on thread timing.
internal static unsafe class ChannelReductions
{
    const int RowsPerChunk = 256;

    /// result[c] = Σ_r (a[r, c] - shiftA[c]) · (b == null ? 1 : b[r, c] - shiftB[c]).
    public static double[] Sum(float* a, float* b, long rows, int c, float[]? shiftA = null, float[]? shiftB = null)
    {
        int chunks = (int)Math.Max(1, (rows + RowsPerChunk - 1) / RowsPerChunk);
        var partial = new double[chunks * (long)c];
        var sa = shiftA ?? new float[c];
        var sb = shiftB ?? new float[c];
        CpuParallel.For(chunks, 4, (lo, hi) =>
        {
            var acc = new float[c];
            fixed (float* pacc = acc, psa = sa, psb = sb)
                for (long k = lo; k < hi; k++)
                {
                    Array.Clear(acc);
                    long r0 = k * RowsPerChunk, r1 = Math.Min(rows, r0 + RowsPerChunk);
                    for (long r = r0; r < r1; r++)
                    {
                        float* ra = a + r * c, rb = b == null ? null : b + r * c;
                        int j = 0;
                        if (Vector256.IsHardwareAccelerated)
                            for (; j + 8 <= c; j += 8)
                            {
                                var va = Vector256.Load(ra + j) - Vector256.Load(psa + j);
                                if (rb != null) va *= Vector256.Load(rb + j) - Vector256.Load(psb + j);
                                (Vector256.Load(pacc + j) + va).Store(pacc + j);
                            }
                        for (; j < c; j++) pacc[j] += (ra[j] - psa[j]) * (rb == null ? 1 : rb[j] - psb[j]);
                    }
                    for (int j = 0; j < c; j++) partial[k * c + j] = acc[j];
                }
        });
        var total = new double[c];
        for (long k = 0; k < chunks; k++)
            for (int j = 0; j < c; j++) total[j] += partial[k * c + j];
        return total;
    }
}
