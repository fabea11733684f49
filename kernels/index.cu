// index.cu: rows gathered (index_select), scattered (index_copy) and scatter-added (index_add) by
// an int32 index. The copies work on raw words (u8/u16/u32/u64) so every dtype shares them.
#include "common.cuh"

template <typename W>
__device__ void index_select(const W* x, const int* index, W* y, i64 count, i64 row_len)
{
    GRID_STRIDE(i, count * row_len) y[i] = x[(i64)index[i / row_len] * row_len + i % row_len];
}

// y[index[i]] = x[i]; where indices repeat, the last row wins (as on the CPU), so a row is written
// only when no later row targets the same place.
template <typename W>
__device__ void index_copy(const W* x, const int* index, W* y, i64 count, i64 row_len)
{
    GRID_STRIDE(i, count * row_len)
    {
        i64 r = i / row_len;
        int target = index[r];
        bool last = true;
        for (i64 later = r + 1; later < count; later++)
            if (index[later] == target) { last = false; break; }
        if (last) y[(i64)target * row_len + i % row_len] = x[i];
    }
}

template <typename T>
__device__ void index_add(const T* x, const int* index, T* y, i64 count, i64 row_len)
{
    GRID_STRIDE(i, count * row_len) atomic_add(y, (i64)index[i / row_len] * row_len + i % row_len, ld(x, i));
}

#define EXPORT_WORD(S, W) \
    extern "C" __global__ void index_select_##S(const W* x, const int* index, W* y, i64 count, i64 row_len) { index_select(x, index, y, count, row_len); } \
    extern "C" __global__ void index_copy_##S(const W* x, const int* index, W* y, i64 count, i64 row_len) { index_copy(x, index, y, count, row_len); }
EXPORT_WORD(u8, u8)
EXPORT_WORD(u16, u16)
EXPORT_WORD(u32, u32)
EXPORT_WORD(u64, u64)

#define EXPORT(S, T) \
    extern "C" __global__ void index_add_##S(const T* x, const int* index, T* y, i64 count, i64 row_len) { index_add(x, index, y, count, row_len); }
EXPORT_FLOAT_TYPES(EXPORT)
