using System.Numerics;

namespace YoloCore.Cpu;

/// Routes a GEMM to the float32 (Sgemm) or float64 (Dgemm) implementation.
/// C = op(A)·op(B) (+ C when accumulate), row-major, op(A) m×k, op(B) k×n.
internal static unsafe class Gemm
{
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k,
        T* a, int lda, T* b, int ldb, T* c, int ldc, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            Sgemm.Multiply(transA, transB, m, n, k, (float*)a, lda, (float*)b, ldb, (float*)c, ldc, accumulate);
        else if (typeof(T) == typeof(double))
            Dgemm.Multiply(transA, transB, m, n, k, (double*)a, lda, (double*)b, ldb, (double*)c, ldc, accumulate);
        else throw new NotSupportedException($"GEMM in {typeof(T).Name}");
    }
}
