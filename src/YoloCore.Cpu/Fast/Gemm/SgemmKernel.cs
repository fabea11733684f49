// Contracts shared by the SGEMM micro-kernels and the blocked driver.
// Each ISA-specific kernel is a struct implementing ISgemmKernel; the driver and the
// packing routines are generic over it, so the JIT specialises them per kernel and
// MR/NR/MC/KC/NC become compile-time constants (no virtual calls, folded loop bounds).
using System;

namespace YoloCore.Cpu;

internal unsafe interface ISgemmKernel
{
    /// Rows of C per micro-tile (rows of an A micro-panel).
    static abstract int MR { get; }
    /// Columns of C per micro-tile (columns of a B micro-panel). A trailing B panel
    /// that is at most NR/2 wide is packed NR/2 wide so narrow N does not waste half.
    static abstract int NR { get; }
    /// Rows of A packed per block (the packing and prefetch granularity).
    static abstract int MC { get; }
    /// Depth of a block (an MR×KC A micro-panel is kept in L1 while a strip is computed).
    static abstract int KC { get; }
    /// Columns of B per block (a KC×NC packed B block is streamed from L2/L3 per strip).
    static abstract int NC { get; }

    /// C[0..mr, 0..nr] = (load ? C : 0) + Apanel·Bpanel over kc steps.
    /// A panel: RowMajor: A(r,p) = a[r*rs + p]; Interleaved: A(r,p) = a[p*MR + r] (rs unused).
    /// B panel: B(p,j) = b[p*bs + j]: bs = NR (or NR/2 when nr <= NR/2) for a packed
    /// panel, ldb when a row-major B is read in place.
    /// pf: lines the driver wants pulled into cache while this tile computes (one per k step).
    static abstract void Run(int kc, float* a, nint rs, float* b, nint bs, float* c, int ldc,
        int mr, int nr, bool load, SgemmALayout layout, ref SgemmPrefetch pf);
}

/// Compile-time description of how a packed A micro-panel is laid out.
internal interface IAPanelLayout
{
    /// True: A(r,p) = a[p*MR + r]; false: A(r,p) = a[r*rs + p] with a runtime row stride.
    static abstract bool IsInterleaved { get; }
    /// Distance (floats) between consecutive k steps.
    static abstract int KStep { get; }
}

/// How the A micro-panel handed to a kernel is laid out.
internal enum SgemmALayout
{
    /// Rows of A one after another with row stride rs: a packed block (rs = KC + pad) or
    /// A itself (rs = lda) when packing cannot pay off.
    RowMajor,
    /// k steps one after another, MR values each: a packed block of a transposed A.
    Interleaved,
}

/// Compile-time row count of a micro-kernel variant (edge tiles use a smaller one).
internal interface IRowCount { static abstract int Rows { get; } }
internal struct Rows4 : IRowCount { public static int Rows => 4; }
internal struct Rows8 : IRowCount { public static int Rows => 8; }
internal struct Rows12 : IRowCount { public static int Rows => 12; }

/// Compile-time width of a micro-kernel variant: one or two SIMD vectors per row.
internal interface IVecCount { static abstract bool Two { get; } }
internal struct OneVec : IVecCount { public static bool Two => false; }
internal struct TwoVec : IVecCount { public static bool Two => true; }
