namespace YoloCore.Cuda;

// layout.cu: permute, concat and slice as pitched row copies, row gather/scatter by index. Pure
// copies move the widest word (8, 4, 2 or 1 bytes) that divides every size and offset involved.
public sealed unsafe partial class CudaBackend
{
    static readonly (int Bytes, string Name)[] words = [(8, "u64"), (4, "u32"), (2, "u16"), (1, "u8")];

    static (int Bytes, string Name) WordFor(params long[] byteCounts) =>
        words.First(w => byteCounts.All(b => b % w.Bytes == 0));

    public void Permute(Tensor x, int[] permutation, Tensor y)
    {
        int es = x.DType.SizeOf();
        string word = words.First(w => w.Bytes == es).Name;
        using var args = Args().Add(Ptr(x)).Add(Ptr(y)).Add(y.Count).Add(Walk.Permuted(x.Shape, permutation));
        Launch("layout", "permute_" + word, y.Count, args);
    }

    /// dst rows (pitch dstPitch) ← src rows (pitch srcPitch), rowBytes each, all in bytes.
    void CopyRows(ulong src, ulong dst, long rows, long rowBytes, long srcPitch, long dstPitch)
    {
        if (rows == 0 || rowBytes == 0) return;
        var w = WordFor(rowBytes, srcPitch, dstPitch, (long)(src % 256), (long)(dst % 256));
        using var args = Args().Add(src).Add(dst).Add(rows).Add(rowBytes / w.Bytes).Add(srcPitch / w.Bytes).Add(dstPitch / w.Bytes);
        Launch("layout", "copy_rows_" + w.Name, rows * (rowBytes / w.Bytes), args);
    }

    static (long Outer, long Inner) AroundAxis(Shape s, int axis) => (s.Product(0, axis), s.Product(axis + 1, s.Rank));

    public void Concat(IReadOnlyList<Tensor> xs, int axis, Tensor y)
    {
        int es = y.DType.SizeOf();
        var (outer, inner) = AroundAxis(y.Shape, axis);
        long yRow = y.Shape[axis] * inner * es, at = 0;
        foreach (var x in xs)
        {
            long block = x.Shape[axis] * inner * es;
            CopyRows(Ptr(x), Ptr(y) + (ulong)at, outer, block, block, yRow);
            at += block;
        }
    }

    public void Slice(Tensor x, int axis, int start, Tensor y)
    {
        int es = x.DType.SizeOf();
        var (outer, inner) = AroundAxis(x.Shape, axis);
        long xRow = x.Shape[axis] * inner * es, block = y.Shape[axis] * inner * es;
        CopyRows(Ptr(x) + (ulong)(start * inner * es), Ptr(y), outer, block, xRow, block);
    }

    public void SliceAdd(Tensor x, int axis, int start, Tensor y)
    {
        var (outer, inner) = AroundAxis(y.Shape, axis);
        long block = x.Shape[axis] * inner;
        using var args = Args().Add(Ptr(x)).Add(Ptr(y) + (ulong)(start * inner * y.DType.SizeOf())).Add(outer).Add(block).Add(y.Shape[axis] * inner);
        Launch("layout", "slice_add_" + Suffix(x, "SliceAdd"), outer * block, args);
    }

    (long Count, long RowElements) Rows(Tensor index, Tensor table, Tensor rows)
    {
        if (index.DType != DType.Int32) throw new ArgumentException($"index must be int32, got {index}");
        long rowElems = table.Count / Math.Max(1, table.Shape[0]);
        if (rows.Count / Math.Max(1, rows.Shape[0]) != rowElems || rows.Shape[0] != index.Count)
            throw new ArgumentException($"row gather/scatter: {rows.Shape} rows for table {table.Shape} and {index.Count} indices");
        // Indices are checked on the host, as on the CPU: an out-of-range index must be an error
        // with its position, not a memory fault.
        var host = index.ToArray<int>();
        for (int i = 0; i < host.Length; i++)
            if ((uint)host[i] >= (uint)table.Shape[0]) throw new IndexOutOfRangeException($"index {host[i]} at position {i} is outside [0, {table.Shape[0]})");
        return (index.Count, rowElems);
    }

    void RowKernel(string kernel, Tensor x, Tensor index, Tensor y, long count, long rowElems)
    {
        int es = x.DType.SizeOf();
        var w = WordFor(rowElems * es);
        using var args = Args().Add(Ptr(x)).Add(Ptr(index)).Add(Ptr(y)).Add(count).Add(rowElems * es / w.Bytes);
        Launch("layout", $"{kernel}_{w.Name}", count * rowElems * es / w.Bytes, args);
    }

    public void IndexSelect(Tensor x, Tensor index, Tensor y)
    {
        var (n, row) = Rows(index, x, y);
        RowKernel("index_select", x, index, y, n, row);
    }

    public void IndexCopy(Tensor x, Tensor index, Tensor y)
    {
        var (n, row) = Rows(index, y, x);
        RowKernel("index_copy", x, index, y, n, row);
    }

    public void IndexAdd(Tensor x, Tensor index, Tensor y)
    {
        var (n, row) = Rows(index, y, x);
        using var args = Args().Add(Ptr(x)).Add(Ptr(index)).Add(Ptr(y)).Add(n).Add(row);
        Launch("layout", "index_add_" + Suffix(x, "IndexAdd"), n * row, args);
    }
}
