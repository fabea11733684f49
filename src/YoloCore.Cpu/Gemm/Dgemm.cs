// Double-precision GEMM for float64 gradient checks on small shapes: plain loops, written
// for clarity. Each C element is summed over k in order (no blocking), so the result is
// independent of threading; rows of C are shared across threads only for big shapes.
using System;
using System.Numerics;
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
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, Math.Max(1, transA ? m : k));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, Math.Max(1, transB ? k : n));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, Math.Max(1, n));
        if (m == 0 || n == 0) return;

        int threads = (long)m * n * k >= 1L << 22 ? Math.Clamp(MaxThreads, 1, m) : 1;
        if (threads == 1)
        {
            Rows(transA, transB, 0, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return;
        }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            Rows(transA, transB, (int)((long)m * t / threads), (int)((long)m * (t + 1) / threads),
                n, k, a, lda, b, ldb, c, ldc, accumulate));
    }

    /// Computes rows [i0, i1) of C.
    private static void Rows(bool transA, bool transB, int i0, int i1, int n, int k,
        double* a, int lda, double* b, int ldb, double* c, int ldc, bool accumulate)
    {
        nint aRow = transA ? 1 : lda, aCol = transA ? lda : 1;   // A(i,p) = a[i*aRow + p*aCol]
        for (int i = i0; i < i1; i++)
        {
            double* ai = a + i * aRow;
            double* ci = c + (nint)i * ldc;
            if (transB)
            {
                // B(p,j) = b[j*ldb + p]: one dot product per element.
                for (int j = 0; j < n; j++)
                {
                    double* bj = b + (nint)j * ldb;
                    double s = 0;
                    for (int p = 0; p < k; p++) s += ai[p * aCol] * bj[p];
                    ci[j] = accumulate ? ci[j] + s : s;
                }
            }
            else
            {
                // B(p,j) = b[p*ldb + j]: accumulate scaled rows of B into the C row.
                if (!accumulate) new Span<double>(ci, n).Clear();
                int w = Vector<double>.Count;
                for (int p = 0; p < k; p++)
                {
                    double s = ai[p * aCol];
                    double* bp = b + (nint)p * ldb;
                    var vs = new Vector<double>(s);
                    int j = 0;
                    for (; j + w <= n; j += w)
                        Vector.Store(Vector.Load(ci + j) + vs * Vector.Load(bp + j), ci + j);
                    for (; j < n; j++) ci[j] += s * bp[j];
                }
            }
        }
    }
}
