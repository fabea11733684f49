// layout.cu: data movement. Permute walks the output with the input's permuted strides; slice is
// a row copy between pitched buffers; concat and its backward (split) take all pieces in one
// launch. Pure copies work on raw words (u8/u16/u32/u64) so every dtype shares them.
#include "common.cuh"

template <typename W>
__device__ void permute(const W* x, W* y, i64 n, Walk w)
{
    GRID_STRIDE(i, n) y[i] = x[walk_offset(w, i)];
}

// dst[r·dst_pitch + k] = src[r·src_pitch + k] for r < rows, k < row_len (all in words).
template <typename W>
__device__ void copy_rows(const W* src, W* dst, i64 rows, i64 row_len, i64 src_pitch, i64 dst_pitch)
{
    GRID_STRIDE(i, rows * row_len)
    {
        i64 r = i / row_len, k = i % row_len;
        dst[r * dst_pitch + k] = src[r * src_pitch + k];
    }
}

// Up to 8 tensors side by side in the rows of a wide one: piece p holds words [start[p],
// start[p + 1]) of every wide row, its own rows dense (start[p + 1] - start[p] words each). A null
// piece is skipped. Passed by value, so a concat costs no table upload.
#define MAX_PIECES 8
struct Pieces
{
    u64 ptr[MAX_PIECES];
    i64 start[MAX_PIECES + 1];
    int count;
};

// Concat (JOIN: wide ← pieces) and split (pieces ← wide) over rows of the wide tensor with pitch
// wide_pitch words; one thread per word of the pieces' span.
template <typename W, bool JOIN>
__device__ void pieces_copy(W* wide, i64 wide_pitch, Pieces p, i64 rows)
{
    i64 span = p.start[p.count];
    GRID_STRIDE(i, rows * span)
    {
        i64 r = i / span, k = i % span;
        int j = run_of(p.start, k);
        W* piece = (W*)p.ptr[j];
        if (!piece) continue;
        i64 width = p.start[j + 1] - p.start[j], at = r * width + k - p.start[j];
        if (JOIN) wide[r * wide_pitch + k] = piece[at];
        else piece[at] = wide[r * wide_pitch + k];
    }
}

// y[r·y_pitch + k] += x[r·row_len + k]: backward of slice (y pre-offset to the slice start).
template <typename T>
__device__ void slice_add(const T* x, T* y, i64 rows, i64 row_len, i64 y_pitch)
{
    GRID_STRIDE(i, rows * row_len)
    {
        i64 r = i / row_len, k = i % row_len;
        st(y, r * y_pitch + k, ld(y, r * y_pitch + k) + ld(x, i));
    }
}

#define EXPORT_WORD(S, W) \
    extern "C" __global__ void permute_##S(const W* x, W* y, i64 n, Walk w) { permute(x, y, n, w); } \
    extern "C" __global__ void copy_rows_##S(const W* src, W* dst, i64 rows, i64 row_len, i64 sp, i64 dp) { copy_rows(src, dst, rows, row_len, sp, dp); } \
    extern "C" __global__ void concat_rows_##S(W* y, i64 y_pitch, Pieces p, i64 rows) { pieces_copy<W, true>(y, y_pitch, p, rows); } \
    extern "C" __global__ void split_rows_##S(W* x, i64 x_pitch, Pieces p, i64 rows) { pieces_copy<W, false>(x, x_pitch, p, rows); }
EXPORT_WORD(u8, u8)
EXPORT_WORD(u16, u16)
EXPORT_WORD(u32, u32)
EXPORT_WORD(u64, u64)

#define EXPORT(S, T) \
    extern "C" __global__ void slice_add_##S(const T* x, T* y, i64 rows, i64 row_len, i64 y_pitch) { slice_add(x, y, rows, row_len, y_pitch); }
EXPORT_FLOAT_TYPES(EXPORT)
