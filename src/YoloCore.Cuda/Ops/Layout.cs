namespace YoloCore.Cuda;

// layout.cu: permute, and concat and slice as pitched row copies. Pure copies move the widest word
// (8, 4, 2 or 1 bytes) that divides every size and offset involved.
public sealed unsafe partial class CudaBackend
{
    static readonly (int Bytes, string Name)[] words = [(8, "u64"), (4, "u32"), (2, "u16"), (1, "u8")];

    static (int Bytes, string Name) WordFor(params long[] byteCounts) =>
        words.First(w => byteCounts.All(b => b % w.Bytes == 0));

    public void Permute(Tensor x, int[] permutation, Tensor y)
    {
        int es = x.DType.SizeOf();
        string word = words.First(w => w.Bytes == es).Name;
        kernel.Permute(word, y.Count, Ptr(x), Ptr(y), y.Count, Walk.Permuted(x.Shape, permutation));
    }

    /// dst rows (pitch dstPitch) ← src rows (pitch srcPitch), rowBytes each, all in bytes.
    void CopyRows(ulong src, ulong dst, long rows, long rowBytes, long srcPitch, long dstPitch)
    {
        if (rows == 0 || rowBytes == 0) return;
        var w = WordFor(rowBytes, srcPitch, dstPitch, (long)(src % 256), (long)(dst % 256));
        kernel.CopyRows(w.Name, rows * (rowBytes / w.Bytes), src, dst, rows, rowBytes / w.Bytes, srcPitch / w.Bytes, dstPitch / w.Bytes);
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
        kernel.SliceAdd(Suffix(x, "SliceAdd"), outer * block, Ptr(x), Ptr(y) + (ulong)(start * inner * y.DType.SizeOf()), outer, block, y.Shape[axis] * inner);
    }
}
