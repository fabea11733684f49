// Direct loops for tiny products (m·n·k below Sgemm.SmallWork), where packing and
// threading would cost more than the multiply. Each C element is summed over k in
// order into a register (or a row of C for the !transB form), single-threaded.
using System;

namespace YoloCore.Cpu;

internal static unsafe class SgemmSmall
{
    public static void Run(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        nint aRow = transA ? 1 : lda, aCol = transA ? lda : 1;   // A(i,p) = a[i*aRow + p*aCol]
        for (int i = 0; i < m; i++)
        {
            float* ai = a + i * aRow;
            float* ci = c + (nint)i * ldc;
            if (transB)
            {
                // B(p,j) = b[j*ldb + p]: a dot product per element.
                for (int j = 0; j < n; j++)
                {
                    float* bj = b + (nint)j * ldb;
                    float s = 0f;
                    for (int p = 0; p < k; p++) s += ai[p * aCol] * bj[p];
                    ci[j] = accumulate ? ci[j] + s : s;
                }
            }
            else
            {
                // B(p,j) = b[p*ldb + j]: axpy rows of B into the C row, which the JIT vectorises poorly,
                // so do it with Vector<float> explicitly.
                if (!accumulate) new Span<float>(ci, n).Clear();
                for (int p = 0; p < k; p++)
                {
                    float s = ai[p * aCol];
                    float* bp = b + (nint)p * ldb;
                    var vs = new System.Numerics.Vector<float>(s);
                    int j = 0, w = System.Numerics.Vector<float>.Count;
                    for (; j + w <= n; j += w)
                    {
                        var cv = System.Numerics.Vector.Load(ci + j);
                        System.Numerics.Vector.Store(cv + vs * System.Numerics.Vector.Load(bp + j), ci + j);
                    }
                    for (; j < n; j++) ci[j] += s * bp[j];
                }
            }
        }
    }
}
