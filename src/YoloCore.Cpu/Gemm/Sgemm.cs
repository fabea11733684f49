namespace YoloCore.Cpu;

/// Placeholder: straightforward float32 GEMM until the blocked kernel lands.
internal static unsafe class Sgemm
{
    public static int MaxThreads { get; set; } = Environment.ProcessorCount;

    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
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
                    if (av == 0) continue;
                    for (int j = 0; j < n; j++) row[j] += av * (transB ? b[(long)j * ldb + p] : b[(long)p * ldb + j]);
                }
                for (int j = 0; j < n; j++) c[i * ldc + j] = (float)((accumulate ? c[i * ldc + j] : 0) + row[j]);
            }
        });
    }
}
