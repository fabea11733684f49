// Direct loops over rows of C, in float32 or float64: the reference GEMM (Gemm.Multiply) and the
// tiny-product path of Sgemm (below Sgemm.SmallWork, where packing and threading cost more than
// the multiply). Each C element is summed over k in order into a register (or a row of C for the
// !transB form), so the result does not depend on how rows are shared out.
using System;
using System.Numerics;

namespace YoloCore.Cpu;

internal static unsafe class GemmRows
{
    /// The argument checks every GEMM entry point makes (see Sgemm for the storage convention).
    public static void CheckArguments(bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, Math.Max(1, transA ? m : k));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, Math.Max(1, transB ? k : n));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, Math.Max(1, n));
    }

    /// Computes rows [i0, i1) of C = op(A)·op(B) (+ C when accumulate).
    public static void Run<T>(bool transA, bool transB, int i0, int i1, int n, int k,
        T* a, int lda, T* b, int ldb, T* c, int ldc, bool accumulate) where T : unmanaged, INumberBase<T>
    {
        nint aRow = transA ? 1 : lda, aCol = transA ? lda : 1;   // A(i,p) = a[i*aRow + p*aCol]
        for (int i = i0; i < i1; i++)
        {
            T* ai = a + i * aRow;
            T* ci = c + (nint)i * ldc;
            if (transB)
            {
                // B(p,j) = b[j*ldb + p]: a dot product per element.
                for (int j = 0; j < n; j++)
                {
                    T* bj = b + (nint)j * ldb;
                    T s = T.Zero;
                    for (int p = 0; p < k; p++) s += ai[p * aCol] * bj[p];
                    ci[j] = accumulate ? ci[j] + s : s;
                }
            }
            else
            {
                // B(p,j) = b[p*ldb + j]: axpy rows of B into the C row, which the JIT vectorises
                // poorly, so do it with Vector<T> explicitly.
                if (!accumulate) new Span<T>(ci, n).Clear();
                int w = Vector<T>.Count;
                for (int p = 0; p < k; p++)
                {
                    T s = ai[p * aCol];
                    T* bp = b + (nint)p * ldb;
                    var vs = new Vector<T>(s);
                    int j = 0;
                    for (; j + w <= n; j += w)
                        Vector.Store(Vector.Load(ci + j) + vs * Vector.Load(bp + j), ci + j);
                    for (; j < n; j++) ci[j] += s * bp[j];
                }
            }
        }
    }
}
