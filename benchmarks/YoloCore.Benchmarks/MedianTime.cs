using System.Diagnostics;

namespace YoloCore.Benchmarks;

/// What the quick tables (--gemm-table, --conv-table) report for one case: warm-up runs, then
/// the median wall time of the timed runs, in milliseconds.
public static class MedianTime
{
    public static double Of(Action run, int runs, int warmup)
    {
        for (int i = 0; i < warmup; i++) run();
        var ms = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            long t = Stopwatch.GetTimestamp();
            run();
            ms.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
        ms.Sort();
        return ms.Count % 2 == 1 ? ms[ms.Count / 2] : (ms[ms.Count / 2 - 1] + ms[ms.Count / 2]) / 2;
    }
}
