// AVX-512 SGEMM micro-kernel: a 12×32 tile of C lives in 24 zmm accumulators.
// Per k step it loads one 32-wide row of the B panel (2 zmm), broadcasts one A value per
// row and issues 2 FMAs per row: 24 independent FMA chains, 27 of the 32 zmm registers.
// Edge tiles run a variant with fewer rows (8/4) and/or one vector (16 columns, where the
// broadcast folds into the FMA as {1to16}) and finish with masked loads/stores, so no
// scratch tile is needed and no byte outside C is touched.
// Shape: 6×32, 8×32, 12×32 and 14×32 all reach 97-100% of the FMA peak on cache-resident
// panels (Zen 4 issues one zmm FMA per cycle); over the YOLO GEMMs 8×32 and 12×32 tie
// and 12×32 reads B 1.5× less often, so it stays (RESULTS.md).
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

internal unsafe struct SgemmKernel512 : ISgemmKernel
{
    public static int MR => 12;
    public static int NR => 32;
    // KC=256: the 12×256 A micro-panel (12 KiB) stays in the 32 KiB L1 while a strip
    //   sweeps the B panels; 192..512 measured within noise of each other.
    // MC=144: a packed A block is 144×272 floats (153 KiB), refilled from L2; with the
    //   strip-outer loop order MC only sets the packing/prefetch granularity.
    // NC=4096: every YOLO width (<= 1152) is one B block (at most 1.2 MiB, L2/L3); 512,
    //   1024 and 4096 measured the same, and one block avoids re-packing a transposed A.
    public static int MC => 144;
    public static int KC => 256;
    public static int NC => 4096;

    public static bool IsSupported => Avx512F.IsSupported;

    public static void Run(int kc, float* a, nint rs, float* b, nint bs, float* c, int ldc,
        int mr, int nr, bool load, SgemmALayout layout, ref SgemmPrefetch pf)
    {
        if (layout == SgemmALayout.Interleaved) Dispatch<Interleaved>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
        else Dispatch<RowMajor>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
    }

    private struct RowMajor : IAPanelLayout { public static bool IsInterleaved => false; public static int KStep => 1; }
    private struct Interleaved : IAPanelLayout { public static bool IsInterleaved => true; public static int KStep => MR; }

    /// Picks the smallest variant covering mr rows and nr columns.
    private static void Dispatch<TL>(int kc, float* a, nint rs, float* b, nint bs, float* c, int ldc,
        int mr, int nr, bool load, ref SgemmPrefetch pf)
        where TL : struct, IAPanelLayout
    {
        if (nr > 16)
        {
            if (mr > 8) Tile<TL, Rows12, TwoVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
            else if (mr > 4) Tile<TL, Rows8, TwoVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
            else Tile<TL, Rows4, TwoVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
        }
        else
        {
            if (mr > 8) Tile<TL, Rows12, OneVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
            else if (mr > 4) Tile<TL, Rows8, OneVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
            else Tile<TL, Rows4, OneVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TL, TR, TW>(int kc, float* a, nint rs, float* b, nint bs, float* c, int ldc,
        int mr, int nr, bool load, ref SgemmPrefetch pf)
        where TL : struct, IAPanelLayout where TR : struct, IRowCount where TW : struct, IVecCount
    {
        int rows = TR.Rows;        // constants after specialisation: dead rows vanish
        bool two = TW.Two;
        if (TL.IsInterleaved) rs = 1;
        Vector512<float> c0a = default, c0b = default, c1a = default, c1b = default,
            c2a = default, c2b = default, c3a = default, c3b = default,
            c4a = default, c4b = default, c5a = default, c5b = default,
            c6a = default, c6b = default, c7a = default, c7b = default,
            c8a = default, c8b = default, c9a = default, c9b = default,
            c10a = default, c10b = default, c11a = default, c11b = default;
        // Start pulling in the C tile now; it is only touched after the k loop (prefetch
        // never faults, so rows/columns past the edge are harmless).
        for (int r = 0; r < rows; r++)
        {
            Sse.Prefetch0(c + r * (nint)ldc);
            Sse.Prefetch0(c + r * (nint)ldc + 16);
            if (two) Sse.Prefetch0(c + r * (nint)ldc + 31);
        }
        SgemmPrefetch prefetch = pf;   // a local copy stays in registers
        for (int p = 0; p < kc; p++)
        {
            prefetch.Step();
            if (prefetch.Twice) prefetch.Step();
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = two ? Vector512.Load(b + 16) : default;
            Fma(b0, b1, a + 0 * rs, ref c0a, ref c0b, two);
            if (rows > 1) Fma(b0, b1, a + 1 * rs, ref c1a, ref c1b, two);
            if (rows > 2) Fma(b0, b1, a + 2 * rs, ref c2a, ref c2b, two);
            if (rows > 3) Fma(b0, b1, a + 3 * rs, ref c3a, ref c3b, two);
            if (rows > 4) Fma(b0, b1, a + 4 * rs, ref c4a, ref c4b, two);
            if (rows > 5) Fma(b0, b1, a + 5 * rs, ref c5a, ref c5b, two);
            if (rows > 6) Fma(b0, b1, a + 6 * rs, ref c6a, ref c6b, two);
            if (rows > 7) Fma(b0, b1, a + 7 * rs, ref c7a, ref c7b, two);
            if (rows > 8) Fma(b0, b1, a + 8 * rs, ref c8a, ref c8b, two);
            if (rows > 9) Fma(b0, b1, a + 9 * rs, ref c9a, ref c9b, two);
            if (rows > 10) Fma(b0, b1, a + 10 * rs, ref c10a, ref c10b, two);
            if (rows > 11) Fma(b0, b1, a + 11 * rs, ref c11a, ref c11b, two);
            a += TL.KStep;
            b += bs;
        }
        pf = prefetch;

        if (mr == rows && nr == (two ? 32 : 16))
        {
            Full(c + 0 * (nint)ldc, c0a, c0b, load, two);
            if (rows > 1) Full(c + 1 * (nint)ldc, c1a, c1b, load, two);
            if (rows > 2) Full(c + 2 * (nint)ldc, c2a, c2b, load, two);
            if (rows > 3) Full(c + 3 * (nint)ldc, c3a, c3b, load, two);
            if (rows > 4) Full(c + 4 * (nint)ldc, c4a, c4b, load, two);
            if (rows > 5) Full(c + 5 * (nint)ldc, c5a, c5b, load, two);
            if (rows > 6) Full(c + 6 * (nint)ldc, c6a, c6b, load, two);
            if (rows > 7) Full(c + 7 * (nint)ldc, c7a, c7b, load, two);
            if (rows > 8) Full(c + 8 * (nint)ldc, c8a, c8b, load, two);
            if (rows > 9) Full(c + 9 * (nint)ldc, c9a, c9b, load, two);
            if (rows > 10) Full(c + 10 * (nint)ldc, c10a, c10b, load, two);
            if (rows > 11) Full(c + 11 * (nint)ldc, c11a, c11b, load, two);
        }
        else
        {
            // Lanes j < nr of the 32 columns are live; MaskLoad/MaskStore never touch the rest.
            Vector512<float> m0 = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(nr)).AsSingle();
            Vector512<float> m1 = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(nr - 16)).AsSingle();
            Part(c + 0 * (nint)ldc, c0a, c0b, m0, m1, load, two);
            if (rows > 1 && mr > 1) Part(c + 1 * (nint)ldc, c1a, c1b, m0, m1, load, two);
            if (rows > 2 && mr > 2) Part(c + 2 * (nint)ldc, c2a, c2b, m0, m1, load, two);
            if (rows > 3 && mr > 3) Part(c + 3 * (nint)ldc, c3a, c3b, m0, m1, load, two);
            if (rows > 4 && mr > 4) Part(c + 4 * (nint)ldc, c4a, c4b, m0, m1, load, two);
            if (rows > 5 && mr > 5) Part(c + 5 * (nint)ldc, c5a, c5b, m0, m1, load, two);
            if (rows > 6 && mr > 6) Part(c + 6 * (nint)ldc, c6a, c6b, m0, m1, load, two);
            if (rows > 7 && mr > 7) Part(c + 7 * (nint)ldc, c7a, c7b, m0, m1, load, two);
            if (rows > 8 && mr > 8) Part(c + 8 * (nint)ldc, c8a, c8b, m0, m1, load, two);
            if (rows > 9 && mr > 9) Part(c + 9 * (nint)ldc, c9a, c9b, m0, m1, load, two);
            if (rows > 10 && mr > 10) Part(c + 10 * (nint)ldc, c10a, c10b, m0, m1, load, two);
            if (rows > 11 && mr > 11) Part(c + 11 * (nint)ldc, c11a, c11b, m0, m1, load, two);
        }
    }

    /// acc0 (+acc1) += b0 (b1) · broadcast(*a). The ref locals are promoted back to
    /// registers once this is inlined (checked in the disassembly).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma(Vector512<float> b0, Vector512<float> b1, float* a,
        ref Vector512<float> acc0, ref Vector512<float> acc1, bool two)
    {
        if (two)
        {
            Vector512<float> x = Vector512.Create(*a);
            acc0 = Avx512F.FusedMultiplyAdd(b0, x, acc0);
            acc1 = Avx512F.FusedMultiplyAdd(b1, x, acc1);
        }
        else acc0 = Avx512F.FusedMultiplyAdd(b0, Vector512.Create(*a), acc0);   // embedded broadcast
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Full(float* c, Vector512<float> v0, Vector512<float> v1, bool load, bool two)
    {
        if (load) v0 += Vector512.Load(c);
        Vector512.Store(v0, c);
        if (two)
        {
            if (load) v1 += Vector512.Load(c + 16);
            Vector512.Store(v1, c + 16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Part(float* c, Vector512<float> v0, Vector512<float> v1,
        Vector512<float> m0, Vector512<float> m1, bool load, bool two)
    {
        if (load) v0 += Avx512F.MaskLoad(c, m0, Vector512<float>.Zero);
        Avx512F.MaskStore(c, m0, v0);
        if (two)
        {
            if (load) v1 += Avx512F.MaskLoad(c + 16, m1, Vector512<float>.Zero);
            Avx512F.MaskStore(c + 16, m1, v1);
        }
    }
}
