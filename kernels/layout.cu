// layout.cu: data movement. Permute walks the output with the input's permuted strides; concat and
// slice are row copies between pitched buffers. Pure copies work on raw words (u8/u16/u32/u64) so
// every dtype shares them.
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
    extern "C" __global__ void copy_rows_##S(const W* src, W* dst, i64 rows, i64 row_len, i64 sp, i64 dp) { copy_rows(src, dst, rows, row_len, sp, dp); }
EXPORT_WORD(u8, u8)
EXPORT_WORD(u16, u16)
EXPORT_WORD(u32, u32)
EXPORT_WORD(u64, u64)

#define EXPORT(S, T) \
    extern "C" __global__ void slice_add_##S(const T* x, T* y, i64 rows, i64 row_len, i64 y_pitch) { slice_add(x, y, rows, row_len, y_pitch); }
EXPORT_FLOAT_TYPES(EXPORT)
