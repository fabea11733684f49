using System.Numerics;

namespace YoloCore.Cpu;

// SumTo (reduce over broadcast axes) and its inverse BroadcastTo.
public sealed unsafe partial class CpuBackend
{
    public void SumTo(Tensor x, Tensor y) =>
        Floating(x, "SumTo", () => SumToKernel<float>(x, y), () => SumToKernel<double>(x, y));

    public void BroadcastTo(Tensor x, Tensor y) =>
        Floating(x, "BroadcastTo", () => BroadcastKernel<float>(x, y), () => BroadcastKernel<double>(x, y));

    /// Accumulates in double whatever the dtype, so a float32 sum over millions of elements (the
    /// loss's means) keeps float32 precision in the result.
    static void SumToKernel<T>(Tensor x, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* px = Ptr<T>(x), py = Ptr<T>(y);
        var walk = new BroadcastWalk(x.Shape, y.Shape);
        int len = walk.RowLength;
        long step = walk.InnerStep;
        long rows = walk.RowCount;
        if (y.Count == 1)
        {
            // Full reduction: per-chunk partial sums, combined in chunk order (deterministic).
            int chunks = (int)Math.Clamp(x.Count / (1 << 16), 1, 64);
            var partial = new double[chunks];
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = CpuParallel.MaxThreads }, c =>
            {
                long s = x.Count * c / chunks, e = x.Count * (c + 1) / chunks;
                double acc = 0;
                for (long i = s; i < e; i++) acc += double.CreateTruncating(px[i]);
                partial[c] = acc;
            });
            py[0] = T.CreateChecked(partial.Sum());
            return;
        }
        var sum = new double[y.Count];
        for (long r = 0; r < rows; r++)
        {
            long o = walk.RowOffset(r);
            T* row = px + r * len;
            for (int i = 0; i < len; i++) sum[o + i * step] += double.CreateTruncating(row[i]);
        }
        for (long i = 0; i < sum.Length; i++) py[i] = T.CreateChecked(sum[i]);
    }

    static void BroadcastKernel<T>(Tensor x, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* px = Ptr<T>(x), py = Ptr<T>(y);
        var walk = new BroadcastWalk(y.Shape, x.Shape);
        int len = walk.RowLength;
        long step = walk.InnerStep;
        CpuParallel.For(walk.RowCount, Math.Max(1, ElementwiseGrain / Math.Max(1, len)), (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                T* src = px + walk.RowOffset(r), dst = py + r * len;
                for (int i = 0; i < len; i++) dst[i] = src[i * step];
            }
        });
    }
}
