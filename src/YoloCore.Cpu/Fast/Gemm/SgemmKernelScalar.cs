// Portable scalar micro-kernel for CPUs without AVX2/FMA (and for testing the blocked
// driver's edge logic with a different MR/NR). A 4×8 tile of accumulators in a
// stack buffer; correctness and simplicity over speed.
using System;

namespace YoloCore.Cpu;

internal unsafe struct SgemmKernelScalar : ISgemmKernel
{
    public static int MR => 4;
    public static int NR => 8;
    public static int MC => 128;
    public static int KC => 256;
    public static int NC => 4096;

    public static void Run(int kc, float* a, nint rs, float* b, nint bs, float* c, int ldc,
        int mr, int nr, bool load, SgemmALayout layout, ref SgemmPrefetch pf)
    {
        bool rowMajor = layout == SgemmALayout.RowMajor;
        nint rowStride = rowMajor ? rs : 1, kStep = rowMajor ? 1 : MR;
        float* acc = stackalloc float[MR * NR];
        new Span<float>(acc, MR * NR).Clear();
        for (int p = 0; p < kc; p++)
        {
            float* bp = b + p * bs;
            for (int r = 0; r < mr; r++)
            {
                float ar = a[r * rowStride + p * kStep];
                float* accRow = acc + r * NR;
                for (int j = 0; j < nr; j++) accRow[j] += ar * bp[j];
            }
        }
        for (int r = 0; r < mr; r++)
        {
            float* cr = c + (nint)r * ldc;
            for (int j = 0; j < nr; j++) cr[j] = load ? cr[j] + acc[r * NR + j] : acc[r * NR + j];
        }
    }
}
