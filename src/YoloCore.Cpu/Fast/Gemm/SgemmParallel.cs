// Splits one GEMM into per-thread shares and runs them with Parallel.For.
// Three ways to split, chosen by Plan from the shape:
//   M: rows of C (whole MR strips) -> every thread reads all of op(B) itself;
//   N: columns of C (NR panels)    -> every thread reads all of op(A) itself;
//   K: k ranges                    -> every thread writes an m×n partial (thread 0
//      straight into C), summed afterwards in thread order, so the rounding is fixed
//      for a given thread count. This is what keeps both cores busy on the
//      weight-gradient GEMMs (m·n tiny, k = batch·H·W huge).
// Shares are fixed by the shape alone, never by which thread finishes first.
using System;
using System.Threading.Tasks;

namespace YoloCore.Cpu;

internal enum SgemmSplit { None, M, N, K }

internal static unsafe class SgemmParallel
{
    /// Test/tuning hook: force a split (None = let Plan decide).
    internal static SgemmSplit ForceSplit = SgemmSplit.None;

    public static void Run<TK>(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, int maxThreads)
        where TK : struct, ISgemmKernel
    {
        int threads = (long)m * n * k < Sgemm.ParallelWork ? 1 : Math.Max(1, maxThreads);
        (SgemmSplit split, int parts) = Plan<TK>(m, n, k, threads);
        switch (split)
        {
            case SgemmSplit.M: SplitM<TK>(parts, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
            case SgemmSplit.N: SplitN<TK>(parts, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
            case SgemmSplit.K: SplitK<TK>(parts, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
            default: SgemmDriver.Run<TK>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate); break;
        }
    }

    private static void SplitM<TK>(int parts, bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate) where TK : struct, ISgemmKernel
    {
        int tiles = (m + TK.MR - 1) / TK.MR;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
        {
            int i0 = Math.Min(m, Share(tiles, parts, t) * TK.MR);
            int i1 = Math.Min(m, Share(tiles, parts, t + 1) * TK.MR);
            float* aPart = transA ? a + i0 : a + (nint)i0 * lda;
            SgemmDriver.Run<TK>(transA, transB, i1 - i0, n, k, aPart, lda, b, ldb, c + (nint)i0 * ldc, ldc, accumulate);
        });
    }

    private static void SplitN<TK>(int parts, bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate) where TK : struct, ISgemmKernel
    {
        int panels = (n + TK.NR - 1) / TK.NR;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
        {
            int j0 = Math.Min(n, Share(panels, parts, t) * TK.NR);
            int j1 = Math.Min(n, Share(panels, parts, t + 1) * TK.NR);
            float* bPart = transB ? b + (nint)j0 * ldb : b + j0;
            SgemmDriver.Run<TK>(transA, transB, m, j1 - j0, k, a, lda, bPart, ldb, c + j0, ldc, accumulate);
        });
    }

    private static void SplitK<TK>(int parts, bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate) where TK : struct, ISgemmKernel
    {
        long plane = (long)m * n;
        using var scratch = SgemmBuffer.RentPartial(plane * (parts - 1));   // the caller's scratch
        float* partial = scratch.Ptr;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
        {
            int p0 = Share(k, parts, t), p1 = Share(k, parts, t + 1);
            float* aPart = transA ? a + (nint)p0 * lda : a + p0;
            float* bPart = transB ? b + p0 : b + (nint)p0 * ldb;
            if (t == 0)
                SgemmDriver.Run<TK>(transA, transB, m, n, p1 - p0, aPart, lda, bPart, ldb, c, ldc, accumulate);
            else
                SgemmDriver.Run<TK>(transA, transB, m, n, p1 - p0, aPart, lda, bPart, ldb,
                    partial + (t - 1) * plane, n, accumulate: false);
        });
        // Fixed-order reduction, rows shared between the threads: C += P1, then C += P2, ...
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
        {
            for (int i = Share(m, parts, t); i < Share(m, parts, t + 1); i++)
                for (int s = 1; s < parts; s++)
                    AddRow(c + (nint)i * ldc, partial + (s - 1) * plane + (nint)i * n, n);
        });
    }

    /// Start of share t when `units` are cut into `parts` contiguous, near-equal shares.
    private static int Share(int units, int parts, int t) => (int)((long)units * t / parts);

    private static void AddRow(float* c, float* p, int n)
    {
        int j = 0;
        for (; j + 8 <= n; j += 8)
            System.Runtime.Intrinsics.Vector256.Store(
                System.Runtime.Intrinsics.Vector256.Load(c + j) + System.Runtime.Intrinsics.Vector256.Load(p + j), c + j);
        for (; j < n; j++) c[j] += p[j];
    }

    /// Picks how to share the work (rules fitted to 2-thread measurements of the YOLO
    /// shapes, RESULTS.md):
    ///  * K when k dwarfs m and n (k >= 4·max(m,n) and at least 8 KC blocks): both
    ///    operands are streamed from DRAM exactly once, halves per thread, and the m·n
    ///    partial sums are negligible. M or N would make each thread stream one operand
    ///    in full.
    ///  * otherwise M (whole MR strips) when the row shares are within 20% of equal:
    ///    op(B) is read by every thread but is the smaller, cache-resident side;
    ///  * otherwise N (whole NR panels) when balanced, else K, else one thread.
    internal static (SgemmSplit, int) Plan<TK>(int m, int n, int k, int threads) where TK : struct, ISgemmKernel
    {
        if (threads < 2) return (SgemmSplit.None, 1);
        int pm = Math.Min(threads, (m + TK.MR - 1) / TK.MR);
        int pn = Math.Min(threads, (n + TK.NR - 1) / TK.NR);
        int pk = Math.Min(threads, k / 64);   // at least 64 k steps per thread
        if (ForceSplit != SgemmSplit.None)
        {
            int p = ForceSplit == SgemmSplit.M ? pm : ForceSplit == SgemmSplit.N ? pn : pk;
            return p < 2 ? (SgemmSplit.None, 1) : (ForceSplit, p);
        }
        if (pk >= 2 && k >= 4L * Math.Max(m, n) && k >= 8 * TK.KC) return (SgemmSplit.K, pk);
        if (pm >= 2 && Imbalance(m, TK.MR, pm) <= 1.2) return (SgemmSplit.M, pm);
        if (pn >= 2 && Imbalance(n, TK.NR, pn) <= 1.2) return (SgemmSplit.N, pn);
        if (pk >= 2) return (SgemmSplit.K, pk);
        return pm >= 2 ? (SgemmSplit.M, pm) : pn >= 2 ? (SgemmSplit.N, pn) : (SgemmSplit.None, 1);
    }

    /// Largest share over the ideal share when `size` is cut into `parts` shares of whole `unit`s.
    private static double Imbalance(int size, int unit, int parts)
    {
        int units = (size + unit - 1) / unit, largest = 0;
        for (int t = 0; t < parts; t++)
        {
            int lo = Math.Min(size, Share(units, parts, t) * unit), hi = Math.Min(size, Share(units, parts, t + 1) * unit);
            largest = Math.Max(largest, hi - lo);
        }
        return largest * (double)parts / size;
    }
}
