namespace YoloCore.Cpu;

/// Placeholder: straightforward float64 GEMM until the blocked kernel lands.
internal static unsafe class Dgemm
{
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        double* a, int lda, double* b, int ldb, double* c, int ldc, bool accumulate)
    {
        CpuParallel.For(m, 1, (s, e) =>
        {
            var row = new double[n];
            for (long i = s; i < e; i++)
            {
                Array.Clear(row);
                for (int p = 0; p < k; p++)
                {
                    double av = transA ? a[(long)p * lda + i] : a[i * lda + p];
                    for (int j = 0; j < n; j++) row[j] += av * (transB ? b[(long)j * ldb + p] : b[(long)p * ldb + j]);
                }
                for (int j = 0; j < n; j++) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + row[j];
            }
        });
    }
}
