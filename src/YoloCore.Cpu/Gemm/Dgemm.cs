// Double-precision GEMM for float64 gradient checks on small shapes: the plain row loops of
// GemmRows, no blocking or packing. Each C element is summed over k in order, so the result is
// independent of threading; rows of C are shared across threads only for big shapes.
using System;
using System.Threading.Tasks;

namespace YoloCore.Cpu;

/// C = op(A)·op(B), or C += op(A)·op(B) when accumulate is true. Row-major.
/// op(A) is m×k: A is stored m×k (row stride lda) when !transA, or k×m (row stride lda) when transA.
/// op(B) is k×n: B is stored k×n (row stride ldb) when !transB, or n×k (row stride ldb) when transB.
/// C is m×n with row stride ldc.
internal static unsafe class Dgemm
{
    public static int MaxThreads { get; set; } = Environment.ProcessorCount;

    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        double* a, int lda, double* b, int ldb, double* c, int ldc, bool accumulate)
    {
        GemmRows.CheckArguments(transA, transB, m, n, k, lda, ldb, ldc);
        if (m == 0 || n == 0) return;

        int threads = (long)m * n * k >= 1L << 22 ? Math.Clamp(MaxThreads, 1, m) : 1;
        if (threads == 1)
        {
            GemmRows.Run(transA, transB, 0, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return;
        }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            GemmRows.Run(transA, transB, (int)((long)m * t / threads), (int)((long)m * (t + 1) / threads),
                n, k, a, lda, b, ldb, c, ldc, accumulate));
    }
}
