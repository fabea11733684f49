namespace YoloCore.Cuda;

// reduce.cu: sums to a (broadcast-compatible) shape, the whole-tensor sum, and broadcasting.
public sealed unsafe partial class CudaBackend
{
    /// One launch: blocks sum contiguous ranges into partials, the last block to finish sums the
    /// partials (reduce.cu's sum_all) into y.
    void SumAll(Tensor x, Tensor y)
    {
        if (x.DType != y.DType) throw new ArgumentException($"Sum of {x} into {y}: dtypes differ");
        long n = x.Count, perBlock = Math.Max(4096, (n + 1023) / 1024);
        int blocks = (int)Math.Max(1, (n + perBlock - 1) / perBlock);
        using var partial = Tensor.Empty(new Shape(blocks), DType.Float32, Device);
        kernel.SumAll(Suffix(x, "Sum"), Work.Grid((uint)blocks, 1, 1), Ptr(x), Ptr(partial), Tickets(1), Ptr(y), n, perBlock);
    }

    public void BroadcastTo(Tensor x, Tensor y) =>
        kernel.BroadcastTo(Suffix(x, "BroadcastTo"), y.Count, Ptr(x), Ptr(y), y.Count, Walk.Broadcast(y.Shape, x.Shape));

    /// One block per output element; the reduced axes (where y has size 1 and x does not) are
    /// walked as one index space.
    public void SumTo(Tensor x, Tensor y)
    {
        if (y.Count == 1) { SumAll(x, y); return; }
        // Summing every row of [rows, C] into [C] (bias gradients, broadcast channel vectors) is
        // BatchNorm's per-channel reduction.
        int c = x.Shape[-1];
        if (y.Count == c && y.Shape[-1] == c && x.Count / c > 1)
        {
            ChannelSums(x, x.Count / c, c, y);
            return;
        }
        int r = x.Rank, off = r - y.Rank;
        var xStride = new long[r];
        long s = 1;
        for (int i = r - 1; i >= 0; i--) { xStride[i] = s; s *= x.Shape[i]; }
        var keepSizes = new long[r];
        var keepStrides = new long[r];
        var redSizes = new List<long>();
        var redStrides = new List<long>();
        for (int i = 0; i < r; i++)
        {
            int yd = i >= off ? y.Shape[i - off] : 1;
            keepSizes[i] = yd;
            keepStrides[i] = yd == 1 ? 0 : xStride[i];
            if (yd == 1 && x.Shape[i] != 1) { redSizes.Add(x.Shape[i]); redStrides.Add(xStride[i]); }
        }
        if (redSizes.Count == 0) { redSizes.Add(1); redStrides.Add(0); }
        long reduced = redSizes.Aggregate(1L, (a, b) => a * b);
        kernel.SumTo(Suffix(x, "SumTo"), Work.Grid((uint)Math.Min(y.Count, 1 << 20), 1, 1), Ptr(x), Ptr(y), y.Count, reduced, Walk.Of(keepSizes, keepStrides), Walk.Of(redSizes.ToArray(), redStrides.ToArray()));
    }
}
