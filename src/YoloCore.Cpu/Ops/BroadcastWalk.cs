namespace YoloCore.Cpu;

/// Walks an output shape row by row (a row = the last axis) and gives, for each row, the offset of
/// the matching row in an input that broadcasts to it, plus that input's step along the row (0 when
/// the input's last axis has size 1). Shared by the broadcasting binary ops and SumTo/BroadcastTo.
internal readonly struct BroadcastWalk
{
    readonly int[] outDims;
    readonly long[] inStrides; // per output axis; 0 where the input is broadcast

    public BroadcastWalk(Shape output, Shape input)
    {
        int r = output.Rank;
        outDims = output.ToArray();
        inStrides = new long[r];
        long stride = 1;
        for (int i = r - 1; i >= 0; i--)
        {
            int j = i - (r - input.Rank);
            int d = j >= 0 ? input[j] : 1;
            inStrides[i] = d == 1 ? 0 : stride;
            stride *= d;
        }
    }

    public int RowLength => outDims.Length == 0 ? 1 : outDims[^1];
    public long RowCount => outDims.Length == 0 ? 1 : new Shape(outDims).Product(0, outDims.Length - 1);
    public long InnerStep => outDims.Length == 0 ? 0 : inStrides[^1];

    /// Offset in the input of the first element of output row `row`.
    public long RowOffset(long row)
    {
        long offset = 0;
        for (int i = outDims.Length - 2; i >= 0; i--)
        {
            long idx = row % outDims[i];
            row /= outDims[i];
            offset += idx * inStrides[i];
        }
        return offset;
    }
}
