using System.Numerics;

namespace YoloCore.Cpu;

// Row gather and scatter by index. The copies work on any dtype by element size; the accumulating
// IndexAdd is floating only.
public sealed unsafe partial class CpuBackend
{
    /// Checks a row gather/scatter and returns the index count and the bytes per row.
    static (int Count, long RowBytes) Rows(Tensor index, Tensor table, Tensor rows)
    {
        long rowElems = table.Count / Math.Max(1, table.Shape[0]);
        if (rows.Count / Math.Max(1, rows.Shape[0]) != rowElems || rows.Shape[0] != index.Count)
            throw new ArgumentException($"row gather/scatter: {rows.Shape} rows for table {table.Shape} and {index.Count} indices");
        int* idx = Ptr<int>(index);
        int n = (int)index.Count, limit = table.Shape[0];
        for (int i = 0; i < n; i++)
            if ((uint)idx[i] >= (uint)limit) throw new IndexOutOfRangeException($"index {idx[i]} at position {i} is outside [0, {limit})");
        return (n, rowElems * table.DType.SizeOf());
    }

    public void IndexSelect(Tensor x, Tensor index, Tensor y)
    {
        var (n, rb) = Rows(index, x, y);
        int* idx = Ptr<int>(index);
        byte* px = (byte*)Raw(x), py = (byte*)Raw(y);
        for (int i = 0; i < n; i++) Buffer.MemoryCopy(px + idx[i] * rb, py + i * rb, rb, rb);
    }

    public void IndexCopy(Tensor x, Tensor index, Tensor y)
    {
        var (n, rb) = Rows(index, y, x);
        int* idx = Ptr<int>(index);
        byte* px = (byte*)Raw(x), py = (byte*)Raw(y);
        for (int i = 0; i < n; i++) Buffer.MemoryCopy(px + i * rb, py + idx[i] * rb, rb, rb);
    }

    public void IndexAdd(Tensor x, Tensor index, Tensor y) =>
        Floating(x, "IndexAdd", () => IndexAddKernel<float>(x, index, y), () => IndexAddKernel<double>(x, index, y));

    static void IndexAddKernel<T>(Tensor x, Tensor index, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (n, rb) = Rows(index, y, x);
        int* idx = Ptr<int>(index);
        long d = rb / sizeof(T);
        T* px = Ptr<T>(x), py = Ptr<T>(y);
        for (int i = 0; i < n; i++)
        {
            T* src = px + i * d, dst = py + idx[i] * d;
            for (long j = 0; j < d; j++) dst[j] += src[j];
        }
    }
}
