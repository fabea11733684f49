// The GotoBLAS/BLIS blocked GEMM for one thread's share of the work:
//   jc (NC columns) -> pc (KC depth: pack B block) -> ic (MC rows: pack A block)
//     -> ir (MR row strip; its A micro-panel stays in L1) -> jr (NR panel) -> micro-kernel.
// Departures from the textbook, each measured on the YOLO shapes (see RESULTS.md):
//  * ir outside jr: the A micro-panel stays in L1 while B panels stream from L2, and C
//    rows are written left to right (up to +15% on store-bound small-k shapes).
//  * A row-major A is read in place when op(B) is narrow, a row-major B when op(A) has
//    few rows (only ragged edge panels are copied, zero-padded): each value then feeds
//    so few micro-tiles that the copy costs more than it saves.
//  * The micro-kernel prefetches (one line per k step) whatever the driver reads next
//    from memory, so DRAM traffic overlaps with FMAs.
// The k blocks are visited in a fixed order and each is added into C by the kernel,
// so a C element's rounding never depends on how rows/columns were split across threads.
using System;

namespace YoloCore.Cpu;

internal static unsafe class SgemmDriver
{
    /// A row-major A is read in place when op(B) is at most this many NR panels wide:
    /// each A value then feeds so few micro-tiles that packing cannot pay off.
    internal static int AInPlaceMaxPanels = 5;
    /// A row-major B is read in place when op(A) has at most this many rows: each B value
    /// then feeds so few micro-tiles that the copy costs more than the (unaligned,
    /// strided) in-place loads; with many rows the packed, aligned panel wins.
    internal static int BInPlaceMaxRows = 256;
    /// Largest next block (floats) worth prefetching.
    internal static int MaxPrefetchFloats = 512 * 1024;

    /// Floats of packing scratch one thread needs for kernel TK.
    public static long ScratchFloats<TK>() where TK : struct, ISgemmKernel
        => (long)TK.MC * SgemmPacking.ARowStride<TK>() + (long)TK.KC * ((TK.NC + TK.NR - 1) / TK.NR * TK.NR);

    public static void Run<TK>(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
        where TK : struct, ISgemmKernel
    {
        using var scratch = SgemmBuffer.RentPack(ScratchFloats<TK>());
        float* packA = scratch.Ptr;
        float* packB = packA + (long)TK.MC * SgemmPacking.ARowStride<TK>();
        nint packedRs = SgemmPacking.ARowStride<TK>();
        // In-place reads are skipped when the row stride is a multiple of 2 KiB: the rows a
        // kernel reads together would then fall into one or two L1 sets and evict each other.
        bool aInPlace = !transA && (n + TK.NR - 1) / TK.NR <= AInPlaceMaxPanels && lda % 512 != 0;
        bool bInPlace = !transB && m <= BInPlaceMaxRows && ldb % 512 != 0;
        var layout = transA ? SgemmALayout.Interleaved : SgemmALayout.RowMajor;
        var none = SgemmPrefetch.None(packB);
        for (int jc = 0; jc < n; jc += TK.NC)
        {
            int nc = Math.Min(TK.NC, n - jc);
            int fullCols = bInPlace ? nc / TK.NR * TK.NR : 0;
            for (int pc = 0; pc < k; pc += TK.KC)
            {
                int kc = Math.Min(TK.KC, k - pc);
                bool load = accumulate || pc > 0;
                if (fullCols < nc)   // all of B, or only its ragged last panel
                    SgemmPacking.PackB<TK>(transB, b, ldb, pc, jc + fullCols, kc, nc - fullCols, packB);
                for (int ic = 0; ic < m; ic += TK.MC)
                {
                    int mc = Math.Min(TK.MC, m - ic);
                    int fullRows = aInPlace ? mc / TK.MR * TK.MR : 0;
                    if (fullRows < mc)   // all of the A block, or only its ragged last panel
                        SgemmPacking.PackA<TK>(transA, a, lda, ic + fullRows, pc, mc - fullRows, kc, packA);

                    // What this block's kernels prefetch when A is packed: the next A block,
                    // or after the last one, the next k block of B and then of A.
                    var next = none;
                    var after = none;
                    if (!aInPlace)
                    {
                        if (ic + TK.MC < m) next = ABlock(transA, a, lda, ic + TK.MC, Math.Min(TK.MC, m - ic - TK.MC), pc, kc);
                        else if (pc + TK.KC < k)
                        {
                            int kn = Math.Min(TK.KC, k - pc - TK.KC);
                            next = transB ? SgemmPrefetch.Rows(b, ldb, jc, nc, pc + TK.KC, kn)
                                          : SgemmPrefetch.Rows(b, ldb, pc + TK.KC, kn, jc, nc);
                            after = ABlock(transA, a, lda, 0, Math.Min(TK.MC, m), pc + TK.KC, kn);
                        }
                        if (next.Lines > MaxPrefetchFloats / 16) next = none;
                        if (after.Lines > MaxPrefetchFloats / 16) after = none;
                        // One line per k step of this block's kernels; two if that falls short.
                        long budget = (long)(mc + TK.MR - 1) / TK.MR * ((nc + TK.NR - 1) / TK.NR) * kc;
                        next.Twice = after.Twice = next.Lines + after.Lines > budget;
                    }

                    for (int ir = 0; ir < mc; ir += TK.MR)
                    {
                        int mr = Math.Min(TK.MR, mc - ir);
                        bool aDirect = ir < fullRows;
                        float* aPanel = aDirect ? a + (nint)(ic + ir) * lda + pc
                            : transA ? packA + (nint)(ir - fullRows) * kc
                            : packA + (ir - fullRows) * packedRs;
                        nint rs = aDirect ? lda : packedRs;
                        // Reading A in place: the strip's first kernel prefetches the next strip.
                        int nextRow = ic + ir + TK.MR;
                        var stripPf = aInPlace && nextRow < m
                            ? SgemmPrefetch.Rows(a, lda, nextRow, Math.Min(TK.MR, m - nextRow), pc, kc) : none;
                        stripPf.Twice = stripPf.Lines > (long)(nc + TK.NR - 1) / TK.NR * kc;

                        for (int jr = 0; jr < nc; jr += TK.NR)
                        {
                            int nr = Math.Min(TK.NR, nc - jr);
                            bool bDirect = jr < fullCols;
                            float* bPanel = bDirect ? b + (nint)pc * ldb + jc + jr : packB + (nint)(jr - fullCols) * kc;
                            nint bs = bDirect ? ldb : nr <= TK.NR / 2 ? TK.NR / 2 : TK.NR;
                            float* cTile = c + (nint)(ic + ir) * ldc + jc + jr;
                            if (aInPlace)
                            {
                                TK.Run(kc, aPanel, rs, bPanel, bs, cTile, ldc, mr, nr, load, layout, ref stripPf);
                            }
                            else
                            {
                                TK.Run(kc, aPanel, rs, bPanel, bs, cTile, ldc, mr, nr, load, layout, ref next);
                                if (next.Done) { next = after; after = none; }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The source lines of the op(A) block rows [i0, i0+rows) × k [p0, p0+kc).
    private static SgemmPrefetch ABlock(bool transA, float* a, int lda, int i0, int rows, int p0, int kc)
        => transA ? SgemmPrefetch.Rows(a, lda, p0, kc, i0, rows) : SgemmPrefetch.Rows(a, lda, i0, rows, p0, kc);
}
