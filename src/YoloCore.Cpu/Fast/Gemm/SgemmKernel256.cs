// AVX2+FMA SGEMM micro-kernel (machines without AVX-512): the classic Haswell 6×16
// tile, 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers.
// A trailing B panel of at most 8 columns uses the one-vector variant; partial tiles
// finish with vmaskmovps loads/stores so nothing outside C is touched.
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

internal unsafe struct SgemmKernel256 : ISgemmKernel
{
    public static int MR => 6;
    public static int NR => 16;
    // Same blocking as the AVX-512 kernel: the 6×256 A micro-panel (6 KiB) stays in L1,
    // MC=144 is a multiple of 6, one NC=4096 block covers every YOLO width.
    public static int MC => 144;
    public static int KC => 256;
    public static int NC => 4096;

    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    private struct RowMajor : IAPanelLayout { public static bool IsInterleaved => false; public static int KStep => 1; }
    private struct Interleaved : IAPanelLayout { public static bool IsInterleaved => true; public static int KStep => MR; }

    public static void Run(int kc, float* a, nint rs, float* b, nint bs, float* c, int ldc,
        int mr, int nr, bool load, SgemmALayout layout, ref SgemmPrefetch pf)
    {
        if (layout == SgemmALayout.RowMajor)
        {
            if (nr > 8) Tile<RowMajor, TwoVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
            else Tile<RowMajor, OneVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
        }
        else
        {
            if (nr > 8) Tile<Interleaved, TwoVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
            else Tile<Interleaved, OneVec>(kc, a, rs, b, bs, c, ldc, mr, nr, load, ref pf);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TL, TW>(int kc, float* a, nint rs, float* b, nint bs, float* c, int ldc,
        int mr, int nr, bool load, ref SgemmPrefetch pf)
        where TL : struct, IAPanelLayout where TW : struct, IVecCount
    {
        bool two = TW.Two;
        if (TL.IsInterleaved) rs = 1;
        Vector256<float> c0a = default, c0b = default,
            c1a = default, c1b = default,
            c2a = default, c2b = default,
            c3a = default, c3b = default,
            c4a = default, c4b = default,
            c5a = default, c5b = default;
        for (int r = 0; r < 6; r++)   // the C tile is only touched after the k loop
        {
            Sse.Prefetch0(c + r * (nint)ldc);
            if (two) Sse.Prefetch0(c + r * (nint)ldc + 15);
        }
        SgemmPrefetch prefetch = pf;
        for (int p = 0; p < kc; p++)
        {
            prefetch.Step();
            if (prefetch.Twice) prefetch.Step();
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = two ? Vector256.Load(b + 8) : default;
            Vector256<float> x;
            x = Vector256.Create(a[0 * rs]); c0a = Fma.MultiplyAdd(b0, x, c0a); if (two) c0b = Fma.MultiplyAdd(b1, x, c0b);
            x = Vector256.Create(a[1 * rs]); c1a = Fma.MultiplyAdd(b0, x, c1a); if (two) c1b = Fma.MultiplyAdd(b1, x, c1b);
            x = Vector256.Create(a[2 * rs]); c2a = Fma.MultiplyAdd(b0, x, c2a); if (two) c2b = Fma.MultiplyAdd(b1, x, c2b);
            x = Vector256.Create(a[3 * rs]); c3a = Fma.MultiplyAdd(b0, x, c3a); if (two) c3b = Fma.MultiplyAdd(b1, x, c3b);
            x = Vector256.Create(a[4 * rs]); c4a = Fma.MultiplyAdd(b0, x, c4a); if (two) c4b = Fma.MultiplyAdd(b1, x, c4b);
            x = Vector256.Create(a[5 * rs]); c5a = Fma.MultiplyAdd(b0, x, c5a); if (two) c5b = Fma.MultiplyAdd(b1, x, c5b);
            a += TL.KStep;
            b += bs;
        }
        pf = prefetch;

        if (mr == 6 && nr == (two ? 16 : 8))
        {
            Full(c + 0 * (nint)ldc, c0a, c0b, load, two);
            Full(c + 1 * (nint)ldc, c1a, c1b, load, two);
            Full(c + 2 * (nint)ldc, c2a, c2b, load, two);
            Full(c + 3 * (nint)ldc, c3a, c3b, load, two);
            Full(c + 4 * (nint)ldc, c4a, c4b, load, two);
            Full(c + 5 * (nint)ldc, c5a, c5b, load, two);
        }
        else
        {
            Vector256<float> m0 = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(nr)).AsSingle();
            Vector256<float> m1 = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(nr - 8)).AsSingle();
            if (mr > 0) Part(c + 0 * (nint)ldc, c0a, c0b, m0, m1, load, two);
            if (mr > 1) Part(c + 1 * (nint)ldc, c1a, c1b, m0, m1, load, two);
            if (mr > 2) Part(c + 2 * (nint)ldc, c2a, c2b, m0, m1, load, two);
            if (mr > 3) Part(c + 3 * (nint)ldc, c3a, c3b, m0, m1, load, two);
            if (mr > 4) Part(c + 4 * (nint)ldc, c4a, c4b, m0, m1, load, two);
            if (mr > 5) Part(c + 5 * (nint)ldc, c5a, c5b, m0, m1, load, two);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Full(float* c, Vector256<float> v0, Vector256<float> v1, bool load, bool two)
    {
        if (load) v0 += Vector256.Load(c);
        Vector256.Store(v0, c);
        if (two)
        {
            if (load) v1 += Vector256.Load(c + 8);
            Vector256.Store(v1, c + 8);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Part(float* c, Vector256<float> v0, Vector256<float> v1,
        Vector256<float> m0, Vector256<float> m1, bool load, bool two)
    {
        if (load) v0 += Avx.MaskLoad(c, m0);
        Avx.MaskStore(c, m0, v0);
        if (two)
        {
            if (load) v1 += Avx.MaskLoad(c + 8, m1);
            Avx.MaskStore(c + 8, m1, v1);
        }
    }
}
