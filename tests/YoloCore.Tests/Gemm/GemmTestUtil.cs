using YoloCore.Cpu;
// Helpers for the GEMM tests: padded random matrices in native memory, a naive
// double-precision reference, and the error metric (max |C - ref| / max |ref|).
using System.Runtime.InteropServices;

namespace YoloCore.Tests.Gemm;

internal sealed unsafe class Mat<T> : IDisposable where T : unmanaged
{
    public readonly int Rows, Cols, Ld;
    public readonly T* Ptr;
    public long Length => (long)Rows * Ld;

    public Mat(int rows, int cols, int ld)
    {
        Rows = rows; Cols = cols; Ld = ld;
        Ptr = (T*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1L, Length) * sizeof(T)), 64);
    }

    public ref T this[int r, int c] => ref Ptr[(long)r * Ld + c];
    public Span<T> All => new(Ptr, (int)Length);
    public void Dispose() => NativeMemory.AlignedFree(Ptr);
}

internal static unsafe class GemmTestUtil
{
    public const float Sentinel = 12345.678f;

    /// Random values in [-1, 1); the padding past Cols is filled with a sentinel.
    public static Mat<float> RandomF(int rows, int cols, int pad, Random rng)
    {
        var m = new Mat<float>(rows, cols, cols + pad);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < m.Ld; c++)
                m[r, c] = c < cols ? (float)(rng.NextDouble() * 2 - 1) : Sentinel;
        return m;
    }

    public static Mat<double> RandomD(int rows, int cols, int pad, Random rng)
    {
        var m = new Mat<double>(rows, cols, cols + pad);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < m.Ld; c++)
                m[r, c] = c < cols ? rng.NextDouble() * 2 - 1 : Sentinel;
        return m;
    }

    /// ref = (accumulate ? C0 : 0) + op(A)·op(B), in double, with the naive triple loop.
    public static double[] Reference<T>(bool transA, bool transB, int m, int n, int k,
        Mat<T> a, Mat<T> b, Mat<T> c0, bool accumulate) where T : unmanaged
    {
        static double D(T v) => typeof(T) == typeof(float) ? (float)(object)v : (double)(object)v;
        var r = new double[(long)m * n];
        Parallel.For(0, m, i =>
        {
            for (int j = 0; j < n; j++)
            {
                double s = accumulate ? D(c0[i, j]) : 0;
                for (int p = 0; p < k; p++)
                    s += D(transA ? a[p, i] : a[i, p]) * D(transB ? b[j, p] : b[p, j]);
                r[(long)i * n + j] = s;
            }
        });
        return r;
    }

    /// max |C - ref| / max |ref| over the logical m×n block.
    public static double RelError<T>(Mat<T> c, double[] reference, int m, int n) where T : unmanaged
    {
        double maxErr = 0, maxRef = 1e-30;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double got = typeof(T) == typeof(float) ? (float)(object)c[i, j] : (double)(object)c[i, j];
                double want = reference[(long)i * n + j];
                if (double.IsNaN(got)) return double.PositiveInfinity;
                maxErr = Math.Max(maxErr, Math.Abs(got - want));
                maxRef = Math.Max(maxRef, Math.Abs(want));
            }
        return maxErr / maxRef;
    }

    /// True when every padding element (columns past Cols) still holds the sentinel.
    public static bool PaddingIntact(Mat<float> c)
    {
        for (int r = 0; r < c.Rows; r++)
            for (int j = c.Cols; j < c.Ld; j++)
                if (c[r, j] != Sentinel) return false;
        return true;
    }
}
