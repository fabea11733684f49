// Splits one GEMM into per-thread shares and runs them with Parallel.For.
// Three ways to split, chosen by a small cost model (all in "cycles per thread"):
//   M: rows of C (whole MR tiles)  -> every thread packs all of op(B) itself;
//   N: columns of C (NR panels)    -> every thread packs all of op(A) itself;
//   K: k blocks (whole KC blocks)  -> every thread writes an m×n partial (thread 0
//      straight into C), summed afterwards in thread order, so the rounding is fixed
//      for a given thread count. This is what keeps both cores busy on the
//      weight-gradient GEMMs (m·n tiny, k = batch·H·W huge).
// Shares are fixed by the shape alone, never by which thread finishes first.
namespace YoloCore.Cpu;

internal enum SgemmSplit { None, M, N, K }

internal static unsafe class SgemmParallel
{
    /// Test/tuning hook: force a split (None = use the cost model).
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
        int blocks = (k + TK.KC - 1) / TK.KC;
        long plane = (long)m * n;
        float* partial = SgemmBuffer.Partial(plane * (parts - 1));   // the caller's scratch
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
        {
            int p0 = Math.Min(k, Share(blocks, parts, t) * TK.KC);
            int p1 = Math.Min(k, Share(blocks, parts, t + 1) * TK.KC);
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

    /// Picks the split with the lowest estimated per-thread time. Compute is counted as
    /// padded 16-lane FMAs; packing as ~0.25 cycle per float copied; the k-split
    /// reduction as ~0.5 cycle per partial float.
    internal static (SgemmSplit, int) Plan<TK>(int m, int n, int k, int threads) where TK : struct, ISgemmKernel
    {
        if (threads < 2) return (SgemmSplit.None, 1);
        const double pack = 0.25, reduce = 0.5;
        double mT = Math.Ceiling((double)m / TK.MR), nT = Math.Ceiling((double)n / TK.NR), kT = Math.Ceiling((double)k / TK.KC);
        double tile = (double)TK.MR * TK.NR / 16.0;          // FMAs per k step of one micro-tile
        int pm = (int)Math.Min(threads, mT), pn = (int)Math.Min(threads, nT), pk = (int)Math.Min(threads, kT);
        double costM = Math.Ceiling(mT / pm) * nT * tile * k + pack * ((double)k * n + (double)m * k / pm);
        double costN = Math.Ceiling(nT / pn) * mT * tile * k + pack * ((double)m * k + (double)k * n / pn);
        double costK = Math.Ceiling(kT / pk) * TK.KC * mT * nT * tile
            + pack * ((double)m * k + (double)k * n) / pk + reduce * (double)m * n * (pk - 1);

        if (ForceSplit != SgemmSplit.None)
        {
            int p = ForceSplit == SgemmSplit.M ? pm : ForceSplit == SgemmSplit.N ? pn : pk;
            return p < 2 ? (SgemmSplit.None, 1) : (ForceSplit, p);
        }
        var best = (SgemmSplit.None, 1);
        double bestCost = double.MaxValue;
        if (pm >= 2 && costM < bestCost) { best = (SgemmSplit.M, pm); bestCost = costM; }
        if (pn >= 2 && costN < bestCost) { best = (SgemmSplit.N, pn); bestCost = costN; }
        if (pk >= 2 && costK < bestCost) { best = (SgemmSplit.K, pk); }
        return best;
    }
}
