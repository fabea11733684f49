using System.Numerics;

namespace YoloCore.Cpu;

// The fast tier's sum of squares (gradient clipping reads every gradient once per step).
public sealed unsafe partial class CpuBackend
{
    // Widened to double lane by lane with two accumulators; a fixed order for a given vector width.
    static double FastSumOfSquares(float* x, long n)
    {
        var acc0 = Vector<double>.Zero; var acc1 = Vector<double>.Zero;
        long i = 0;
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            Vector.Widen(Vector.Load(x + i), out var lo, out var hi);
            acc0 += lo * lo;
            acc1 += hi * hi;
        }
        double s = Vector.Sum(acc0 + acc1);
        for (; i < n; i++) s += (double)x[i] * x[i];
        return s;
    }
}
