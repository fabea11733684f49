// Single-precision GEMM entry point: picks the micro-kernel for the CPU, takes a
// no-packing path for tiny problems, and splits bigger ones across threads.
// Threads get fixed, contiguous shares (rows of C, columns of C, or ranges of k) chosen
// from the shape alone, so for a given MaxThreads the rounding of every C element is
// the same on every run, whatever the thread timing.
using System;

namespace YoloCore.Cpu;

/// C = op(A)·op(B), or C += op(A)·op(B) when accumulate is true. Row-major.
/// op(A) is m×k: A is stored m×k (row stride lda) when !transA, or k×m (row stride lda) when transA.
/// op(B) is k×n: B is stored k×n (row stride ldb) when !transB, or n×k (row stride ldb) when transB.
/// C is m×n with row stride ldc.
internal static unsafe class Sgemm
{
    public static int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// Below this m·n·k a plain loop beats packing (the packed path's fixed costs dominate).
    internal const long SmallWork = 32 * 1024;
    /// Below this m·n·k one thread finishes before a second would have started helping.
    internal const long ParallelWork = 1L << 20;

    /// Test hook: force a narrower kernel than the CPU supports (Auto = best available).
    internal static SgemmIsa ForceIsa { get; set; } = SgemmIsa.Auto;

    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate) =>
        Multiply(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, MaxThreads);

    /// As above with an explicit thread budget (1: run on the calling thread only, for callers
    /// that already split their work across threads, such as the tiled convolution).
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, int threads)
    {
        GemmRows.CheckArguments(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) new Span<float>(c + (nint)i * ldc, n).Clear();
            return;
        }
        if ((long)m * n * k < SmallWork)
        {
            GemmRows.Run(transA, transB, 0, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return;
        }
        switch (ResolveIsa())
        {
            case SgemmIsa.Avx512:
                SgemmParallel.Run<SgemmKernel512>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, threads);
                break;
            case SgemmIsa.Avx2:
                SgemmParallel.Run<SgemmKernel256>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, threads);
                break;
            default:
                SgemmParallel.Run<SgemmKernelScalar>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, threads);
                break;
        }
    }

    private static SgemmIsa ResolveIsa()
    {
        SgemmIsa best = SgemmKernel512.IsSupported ? SgemmIsa.Avx512
            : SgemmKernel256.IsSupported ? SgemmIsa.Avx2 : SgemmIsa.Scalar;
        return ForceIsa == SgemmIsa.Auto || ForceIsa > best ? best : ForceIsa;
    }
}

internal enum SgemmIsa { Auto = 0, Scalar = 1, Avx2 = 2, Avx512 = 3 }
