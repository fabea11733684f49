// Software prefetch that rides along inside the micro-kernel: one 64-byte line per k step.
// Streaming operands (A read in place for tall-skinny products, the next k block of A and
// B for the weight-gradient products) would otherwise be fetched from DRAM by a copy loop
// that has no FMAs to overlap with; spreading the prefetches one per k step keeps the
// load queue free for the kernel's own loads (a burst of prefetches measured ~30% slower).
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace YoloCore.Cpu;

/// A grid of rows × LinesPerRow cache lines (row stride Stride floats), walked row by row.
/// When exhausted it keeps touching the last line, which is then an L1 hit.
internal unsafe struct SgemmPrefetch
{
    public float* Row;
    public nint Stride;
    public int LinesPerRow;
    public int RowsLeft;
    public int Line;
    /// Two lines per k step instead of one (set when one would not cover the data in time).
    public bool Twice;

    /// Rows [row0, row0 + rows) of a matrix with row stride ld, columns [col0, col0 + cols).
    public static SgemmPrefetch Rows(float* m, nint ld, int row0, int rows, int col0, int cols)
    {
        if (rows <= 0) return None(m);
        if (ld == cols) { cols *= rows; rows = 1; }   // contiguous rows: one long row
        return new()
        {
            Row = m + row0 * ld + col0,
            Stride = ld,
            LinesPerRow = (cols + 15) / 16 + 1,   // +1: the row need not start on a line boundary
            RowsLeft = rows,
        };
    }

    /// Nothing to prefetch: every step touches one harmless address.
    public static SgemmPrefetch None(float* anywhere) => new() { Row = anywhere, LinesPerRow = 1, RowsLeft = 1 };

    public readonly bool Done => RowsLeft <= 1 && Line >= LinesPerRow - 1;

    /// Lines still to visit.
    public readonly long Lines => (long)Math.Max(RowsLeft - 1, 0) * LinesPerRow + LinesPerRow - Line;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step()
    {
        if (Sse.IsSupported) Sse.Prefetch2(Row + Line * 16);
        if (++Line >= LinesPerRow)
        {
            if (RowsLeft > 1) { RowsLeft--; Row += Stride; Line = 0; }
            else Line = LinesPerRow - 1;
        }
    }
}
