namespace YoloCore.Cuda;

// index.cu: rows gathered and scattered by an int32 index. The copies move the widest word (8, 4, 2
// or 1 bytes) that divides the row size (WordFor, in Layout.cs).
public sealed unsafe partial class CudaBackend
{
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

    /// The word the row copies move, and a row's length in words.
    static (string Word, long Words) RowWords(Tensor x, long rowElems)
    {
        long bytes = rowElems * x.DType.SizeOf();
        var w = WordFor(bytes);
        return (w.Name, bytes / w.Bytes);
    }

    public void IndexSelect(Tensor x, Tensor index, Tensor y)
    {
        var (n, row) = Rows(index, x, y);
        var (word, words) = RowWords(x, row);
        kernel.IndexSelect(word, n * words, Ptr(x), Ptr(index), Ptr(y), n, words);
    }

    public void IndexCopy(Tensor x, Tensor index, Tensor y)
    {
        var (n, row) = Rows(index, y, x);
        var (word, words) = RowWords(x, row);
        kernel.IndexCopy(word, n * words, Ptr(x), Ptr(index), Ptr(y), n, words);
    }

    public void IndexAdd(Tensor x, Tensor index, Tensor y)
    {
        var (n, row) = Rows(index, y, x);
        kernel.IndexAdd(Suffix(x, "IndexAdd"), n * row, Ptr(x), Ptr(index), Ptr(y), n, row);
    }
}
