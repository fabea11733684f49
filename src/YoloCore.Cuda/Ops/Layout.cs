namespace YoloCore.Cuda;

// layout.cu: permute, slice as a pitched row copy, concat and split (its backward) one launch
// each. Pure copies move the widest word (8, 4, 2 or 1 bytes) that divides every size and offset.
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

    public void Concat(IReadOnlyList<Tensor> xs, int axis, Tensor y) =>
        CopyPieces(y, axis, xs.Select(x => x.Shape[axis]).ToArray(), xs.ToArray(), join: true);

    public void Split(Tensor x, int axis, int[] sizes, IReadOnlyList<Tensor?> pieces) =>
        CopyPieces(x, axis, sizes, pieces, join: false);

    /// Concat (join: wide ← pieces) or split (pieces ← wide), Pieces.Max pieces per launch.
    void CopyPieces(Tensor wide, int axis, int[] sizes, IReadOnlyList<Tensor?> pieces, bool join)
    {
        int es = wide.DType.SizeOf();
        var (outer, inner) = AroundAxis(wide.Shape, axis);
        long pitch = wide.Shape[axis] * inner * es, at = 0;
        if (outer == 0 || pitch == 0) return;
        for (int first = 0; first < sizes.Length; first += Pieces.Max)
        {
            int count = Math.Min(Pieces.Max, sizes.Length - first);
            var bytes = sizes.Skip(first).Take(count).Select(s => s * inner * es).ToArray();
            long span = bytes.Sum();
            var w = WordFor([pitch, at, .. bytes, (long)(Ptr(wide) % 256), .. pieces.Skip(first).Take(count).Select(p => p is null ? 0L : (long)(Ptr(p) % 256))]);
            var table = new Pieces { Count = count };
            long start = 0;
            for (int i = 0; i < count; i++)
            {
                table.Set(i, PtrOrNull(pieces[first + i]), start / w.Bytes);
                start += bytes[i];
            }
            table.End(start / w.Bytes);
            ulong p0 = Ptr(wide) + (ulong)at;
            long words = outer * (span / w.Bytes);
            if (span > 0)
            {
                if (join) kernel.ConcatRows(w.Name, words, p0, pitch / w.Bytes, table, outer);
                else kernel.SplitRows(w.Name, words, p0, pitch / w.Bytes, table, outer);
            }
            at += span;
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

/// Mirrors layout.cu's Pieces: up to Max tensors side by side in a wide one's rows.
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal unsafe struct Pieces
{
    public const int Max = 8;
    fixed ulong ptr[Max];
    fixed long start[Max + 1];
    public int Count;

    /// Piece i at address p (0: skipped) starts at word `at` of each wide row.
    public void Set(int i, ulong p, long at) => (ptr[i], start[i]) = (p, at);

    /// The end of the last piece (the span of the pieces in words).
    public void End(long at) => start[Count] = at;
}
