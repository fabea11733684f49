using System.Numerics;

namespace YoloCore.Cpu;

// Data movement: permute, concat and slice. Pure copies work on any dtype by element size; the
// accumulating SliceAdd is floating only.
public sealed unsafe partial class CpuBackend
{
    public void Permute(Tensor x, int[] permutation, Tensor y)
    {
        switch (x.DType.SizeOf())
        {
            case 1: PermuteKernel<byte>(x, permutation, y); break;
            case 2: PermuteKernel<short>(x, permutation, y); break;
            case 4: PermuteKernel<int>(x, permutation, y); break;
            default: PermuteKernel<long>(x, permutation, y); break;
        }
    }

    static void PermuteKernel<E>(Tensor x, int[] perm, Tensor y) where E : unmanaged
    {
        E* px = (E*)Raw(x), py = (E*)Raw(y);
        int r = x.Rank;
        if (r == 0) { py[0] = px[0]; return; }
        var xStride = new long[r];
        long s = 1;
        for (int i = r - 1; i >= 0; i--) { xStride[i] = s; s *= x.Shape[i]; }
        var step = new long[r]; // stride in x for each output axis
        for (int i = 0; i < r; i++) step[i] = xStride[perm[i]];
        var yDims = y.Shape.ToArray();
        int len = yDims[^1];
        long inner = step[^1];
        long rows = y.Count / Math.Max(1, len);
        CpuParallel.For(rows, Math.Max(1, ElementwiseGrain / Math.Max(1, len)), (a, b) =>
        {
            // The source offset of the first row, then an odometer over the outer output axes:
            // one division per chunk instead of one per axis per row.
            var index = new long[r];
            long rem = a, off = 0;
            for (int i = r - 2; i >= 0; i--) { index[i] = rem % yDims[i]; off += index[i] * step[i]; rem /= yDims[i]; }
            for (long row = a; row < b; row++)
            {
                E* dst = py + row * len;
                if (inner == 1) new ReadOnlySpan<E>(px + off, len).CopyTo(new Span<E>(dst, len));
                else for (int i = 0; i < len; i++) dst[i] = px[off + i * inner];
                for (int i = r - 2; i >= 0; i--)
                {
                    off += step[i];
                    if (++index[i] < yDims[i]) break;
                    off -= index[i] * step[i];
                    index[i] = 0;
                }
            }
        });
    }

    /// (outer, axis, inner) sizes of a shape split at an axis, for block copies.
    static (long Outer, long Inner) AroundAxis(Shape s, int axis) => (s.Product(0, axis), s.Product(axis + 1, s.Rank));

    public void Concat(IReadOnlyList<Tensor> xs, int axis, Tensor y)
    {
        int es = y.DType.SizeOf();
        var (outer, inner) = AroundAxis(y.Shape, axis);
        long yRow = y.Shape[axis] * inner * es;
        byte* py = (byte*)Raw(y);
        long at = 0;
        foreach (var x in xs)
        {
            long block = x.Shape[axis] * inner * es;
            byte* px = (byte*)Raw(x);
            long offset = at;
            CpuParallel.For(outer, Math.Max(1, ElementwiseGrain * 4 / Math.Max(1, block)), (a, b) =>
            {
                for (long o = a; o < b; o++) Buffer.MemoryCopy(px + o * block, py + o * yRow + offset, block, block);
            });
            at += block;
        }
    }

    public void Split(Tensor x, int axis, int[] sizes, IReadOnlyList<Tensor?> pieces)
    {
        int start = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            if (pieces[i] is { } piece) Slice(x, axis, start, piece);
            start += sizes[i];
        }
    }

    public void Slice(Tensor x, int axis, int start, Tensor y)
    {
        int es = x.DType.SizeOf();
        var (outer, inner) = AroundAxis(x.Shape, axis);
        long xRow = x.Shape[axis] * inner * es, block = y.Shape[axis] * inner * es, offset = start * inner * es;
        byte* px = (byte*)Raw(x), py = (byte*)Raw(y);
        CpuParallel.For(outer, Math.Max(1, ElementwiseGrain * 4 / Math.Max(1, block)), (a, b) =>
        {
            for (long o = a; o < b; o++) Buffer.MemoryCopy(px + o * xRow + offset, py + o * block, block, block);
        });
    }

    public void SliceAdd(Tensor x, int axis, int start, Tensor y) =>
        Floating(x, "SliceAdd", () => SliceAddKernel<float>(x, axis, start, y), () => SliceAddKernel<double>(x, axis, start, y));

    static void SliceAddKernel<T>(Tensor x, int axis, int start, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (outer, inner) = AroundAxis(y.Shape, axis);
        long yRow = y.Shape[axis] * inner, block = x.Shape[axis] * inner, offset = start * inner;
        T* px = Ptr<T>(x), py = Ptr<T>(y);
        CpuParallel.For(outer, Math.Max(1, ElementwiseGrain / Math.Max(1, block)), (a, b) =>
        {
            for (long o = a; o < b; o++)
            {
                T* src = px + o * block, dst = py + o * yRow + offset;
                for (long i = 0; i < block; i++) dst[i] += src[i];
            }
        });
    }
}
