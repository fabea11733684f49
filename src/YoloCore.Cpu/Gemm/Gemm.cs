using System.Numerics;

namespace YoloCore.Cpu;

/// C = op(A)·op(B) (+ C when accumulate), row-major, op(A) m×k, op(B) k×n (storage as in Sgemm).
/// The reference is GemmRows' plain loops, in float32 or float64, with rows shared across threads
/// for big products: each C element is summed over k in order, so the result does not depend on
/// threading. The fast tier is the blocked float32 Sgemm (Fast/Gemm/).
internal static unsafe class Gemm
{
    public static int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// fast: T is float and the product goes to Sgemm.
    public static void Multiply<T>(bool fast, bool transA, bool transB, int m, int n, int k,
        T* a, int lda, T* b, int ldb, T* c, int ldc, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (fast)
        {
            Sgemm.Multiply(transA, transB, m, n, k, (float*)a, lda, (float*)b, ldb, (float*)c, ldc, accumulate);
            return;
        }
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
