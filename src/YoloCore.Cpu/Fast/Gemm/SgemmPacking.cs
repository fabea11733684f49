// Packing of op(A) and op(B) blocks into the contiguous, zero-padded micro-panels the
// micro-kernels stream through. The transposes are absorbed here so the kernels only
// ever see one layout per operand, and every pack is (almost) a plain row copy:
//   !transA: A rows are contiguous along k -> row-major layout  A(r,p) = dst[r*RowStride + p]
//    transA: A columns are contiguous      -> "interleaved" layout A(r,p) = dst[p*MR + r]
//   !transB: B rows are contiguous along n -> copy NR floats per k step
//    transB: B stored n×k                  -> 16×16 in-register transposes (AVX-512) or scalar
// Padding rows/columns are written as zeros: they never reach C, but uninitialised
// memory could hold denormals that would slow the FMAs down.
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

internal static unsafe class SgemmPacking
{
    /// Row stride of a packed row-major A block: KC plus one cache line, so the MR rows a
    /// kernel reads at once do not all map to the same few L1 sets (a 1 KiB stride would).
    public static int ARowStride<TK>() where TK : struct, ISgemmKernel => TK.KC + 16;

    /// Packs op(A)[i0..i0+mc, p0..p0+kc] into MR-row micro-panels (rounded up to MR rows).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<TK>(bool transA, float* a, int lda, int i0, int p0, int mc, int kc, float* dst)
        where TK : struct, ISgemmKernel
    {
        int mr = TK.MR, kcMax = ARowStride<TK>();
        int rowsPadded = (mc + mr - 1) / mr * mr;
        if (!transA)
        {
            for (int r = 0; r < rowsPadded; r++)
            {
                float* d = dst + (nint)r * kcMax;
                if (r < mc) CopyPad(d, a + (nint)(i0 + r) * lda + p0, kc, kc);
                else new Span<float>(d, kc).Clear();
            }
        }
        else
        {
            // Row by row of the stored k×m A, so the source is read sequentially.
            for (int p = 0; p < kc; p++)
            {
                float* s = a + (nint)(p0 + p) * lda + i0;
                for (int ir = 0; ir < mc; ir += mr)
                    CopyPad(dst + (nint)ir * kc + (nint)p * mr, s + ir, Math.Min(mr, mc - ir), mr);
            }
        }
    }

    /// Packs op(B)[p0..p0+kc, j0..j0+nc] into NR-column micro-panels; the last panel is
    /// NR/2 wide when it has at most NR/2 columns (see ISgemmKernel.NR).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<TK>(bool transB, float* b, int ldb, int p0, int j0, int kc, int nc, float* dst)
        where TK : struct, ISgemmKernel
    {
        int nr = TK.NR;
        if (!transB)
        {
            // Row by row of B, so the source is read sequentially (once per line).
            for (int p = 0; p < kc; p++)
            {
                float* s = b + (nint)(p0 + p) * ldb + j0;
                for (int jr = 0; jr < nc; jr += nr)
                {
                    int w = Math.Min(nr, nc - jr);
                    int width = w <= nr / 2 ? nr / 2 : nr;   // all earlier panels are full width
                    CopyPad(dst + (nint)jr * kc + (nint)p * width, s + jr, w, width);
                }
            }
            return;
        }
        for (int jr = 0; jr < nc; jr += nr)
        {
            int w = Math.Min(nr, nc - jr);
            int width = w <= nr / 2 ? nr / 2 : nr;
            PackTransposed(b + (nint)(j0 + jr) * ldb + p0, ldb, w, width, kc, dst + (nint)jr * kc);
        }
    }

    /// dst[p*width + j] = src[j*lds + p] for j < w (zero for w <= j < width), p < kc.
    private static void PackTransposed(float* src, int lds, int w, int width, int kc, float* dst)
    {
        int p = 0;
        if (Avx512F.IsSupported && w == width && (width & 15) == 0)
        {
            for (; p + 16 <= kc; p += 16)
                for (int j = 0; j < width; j += 16)
                    Transpose16x16(src + (nint)j * lds + p, lds, dst + (nint)p * width + j, width);
        }
        for (; p < kc; p++)
        {
            float* d = dst + (nint)p * width;
            for (int j = 0; j < w; j++) d[j] = src[(nint)j * lds + p];
            for (int j = w; j < width; j++) d[j] = 0f;
        }
    }

    /// Writes the transpose of the 16×16 block at src (row stride lds) to dst (row stride ldd)
    /// with the usual 4-stage shuffle network: 64 shuffles per 256 floats instead of 256
    /// scalar strided stores.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16x16(float* src, int lds, float* dst, int ldd)
    {
        Vector512<float>* r = stackalloc Vector512<float>[16];
        Vector512<float>* t = stackalloc Vector512<float>[16];
        for (int i = 0; i < 16; i++) r[i] = Vector512.Load(src + (nint)i * lds);
        for (int i = 0; i < 16; i += 2)           // interleave pairs of rows (32-bit)
        {
            t[i] = Avx512F.UnpackLow(r[i], r[i + 1]);
            t[i + 1] = Avx512F.UnpackHigh(r[i], r[i + 1]);
        }
        for (int i = 0; i < 16; i += 4)           // interleave pairs of pairs (64-bit)
        {
            r[i] = Avx512F.Shuffle(t[i], t[i + 2], 0x44);
            r[i + 1] = Avx512F.Shuffle(t[i], t[i + 2], 0xEE);
            r[i + 2] = Avx512F.Shuffle(t[i + 1], t[i + 3], 0x44);
            r[i + 3] = Avx512F.Shuffle(t[i + 1], t[i + 3], 0xEE);
        }
        for (int h = 0; h < 16; h += 8)           // 128-bit lanes, within each half
            for (int i = 0; i < 4; i++)
            {
                t[h + i] = Avx512F.Shuffle4x128(r[h + i], r[h + i + 4], 0x88);
                t[h + i + 4] = Avx512F.Shuffle4x128(r[h + i], r[h + i + 4], 0xDD);
            }
        for (int i = 0; i < 8; i++)               // 128-bit lanes, across halves
        {
            r[i] = Avx512F.Shuffle4x128(t[i], t[i + 8], 0x88);
            r[i + 8] = Avx512F.Shuffle4x128(t[i], t[i + 8], 0xDD);
        }
        for (int i = 0; i < 16; i++) Vector512.Store(r[i], dst + (nint)i * ldd);
    }

    /// Copies w floats and zero-fills up to width (w <= width).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPad(float* d, float* s, int w, int width)
    {
        int j = 0;
        if (Avx512F.IsSupported)
        {
            for (; j + 16 <= w; j += 16) Vector512.Store(Vector512.Load(s + j), d + j);
            if (j < width)
            {
                // Masked load reads only the w-j live floats (no fault past the source).
                Vector512<float> live = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(w - j)).AsSingle();
                Vector512<float> keep = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(width - j)).AsSingle();
                Avx512F.MaskStore(d + j, keep, Avx512F.MaskLoad(s + j, live, Vector512<float>.Zero));
                j += 16;
                for (; j < width; j += 16)   // only when width - w > 16
                {
                    keep = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(width - j)).AsSingle();
                    Avx512F.MaskStore(d + j, keep, Vector512<float>.Zero);
                }
            }
            return;
        }
        if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= w; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
        for (; j < w; j++) d[j] = s[j];
        for (; j < width; j++) d[j] = 0f;
    }
}
