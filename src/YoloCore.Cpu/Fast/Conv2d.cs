using System.Runtime.InteropServices;

namespace YoloCore.Cpu;

// The fast tier's k×k convolution, cache-blocked, in float32. Unfolding whole images (im2col)
// writes and rereads a column matrix far larger than the caches (yolov5n's stem at 320 px, batch
// 8: 88 MB), so the layers with few channels were memory-bound. Here each thread unfolds a tile of
// output rows that fits in L2 (1 MiB tiles measured best of 128 KiB to 1 MiB, docs/perf.md),
// multiplies it at once with a single-threaded GEMM, and moves on: the column tile never leaves
// the cache. Backward gives each thread whole images, so its col2im scatter touches only its own
// rows of dX and its weight gradient goes to a private partial sum; partials are added in thread
// order, so results are deterministic for a given thread count.
public sealed unsafe partial class CpuBackend
{
    const long TileBytes = 1024 << 10;

    static int TileRows(ConvDims d) => (int)Math.Max(1, TileBytes / ((long)d.K * sizeof(float)));

    /// Where the patch of output pixel r (over the whole batch) starts: its image's first row
    /// (n·H), its top-left input row and column (may lie in the padding), and whether every
    /// column of the patch lies inside the image.
    static (long Image, int Ih0, int Iw0, bool RowInside) PatchOrigin(ConvDims d, long r)
    {
        int n = (int)(r / d.PixelsOut), pix = (int)(r % d.PixelsOut);
        int iw0 = pix % d.Wo * d.G.StrideW - d.G.PadW;
        return ((long)n * d.H, pix / d.Wo * d.G.StrideH - d.G.PadH, iw0, iw0 >= 0 && iw0 + d.Kw <= d.W);
    }

    /// Col rows [r0, r1) (global output pixels) of x, into col (row stride K). In NHWC one kernel
    /// row of a patch, kw pixels × Cin channels, is contiguous in x, so it is one copy when the
    /// whole row lies inside the image (the stem's Cin = 3 would otherwise copy 12 bytes at a time).
    static void Im2ColRows(ConvDims d, float* x, long r0, long r1, float* col)
    {
        int cin = d.Cin, span = d.Kw * cin;
        for (long r = r0; r < r1; r++)
        {
            var (image, ih0, iw0, rowInside) = PatchOrigin(d, r);
            float* dst = col + (r - r0) * d.K;
            for (int ki = 0; ki < d.Kh; ki++, dst += span)
            {
                int ih = ih0 + ki;
                if ((uint)ih >= (uint)d.H) { new Span<float>(dst, span).Clear(); continue; }
                float* src = x + ((image + ih) * d.W + iw0) * cin;
                if (rowInside) { Buffer.MemoryCopy(src, dst, span * sizeof(float), span * sizeof(float)); continue; }
                for (int kj = 0; kj < d.Kw; kj++)
                {
                    int iw = iw0 + kj;
                    if ((uint)iw < (uint)d.W) Buffer.MemoryCopy(src + kj * cin, dst + kj * cin, cin * sizeof(float), cin * sizeof(float));
                    else new Span<float>(dst + kj * cin, cin).Clear();
                }
            }
        }
    }

    /// gx[pixel of row r, patch offset] += dcol[r, patch offset] for rows [r0, r1), a whole kernel
    /// row at a time where it lies inside the image (the adjoint of Im2ColRows).
    static void Col2ImRowsAdd(ConvDims d, float* dcol, long r0, long r1, float* gx)
    {
        int cin = d.Cin, span = d.Kw * cin;
        for (long r = r0; r < r1; r++)
        {
            var (image, ih0, iw0, rowInside) = PatchOrigin(d, r);
            float* src = dcol + (r - r0) * d.K;
            for (int ki = 0; ki < d.Kh; ki++, src += span)
            {
                int ih = ih0 + ki;
                if ((uint)ih >= (uint)d.H) continue;
                float* dst = gx + ((image + ih) * d.W + iw0) * cin;
                if (rowInside) { VectorMath.AddInto(new Span<float>(dst, span), new ReadOnlySpan<float>(src, span)); continue; }
                for (int kj = 0; kj < d.Kw; kj++)
                    if ((uint)(iw0 + kj) < (uint)d.W)
                        VectorMath.AddInto(new Span<float>(dst + kj * cin, cin), new ReadOnlySpan<float>(src + kj * cin, cin));
            }
        }
    }

    static void FastConv2dForward(ConvDims d, float* x, float* w, float* y)
    {
        long m = (long)d.N * d.PixelsOut;
        int rows = TileRows(d);
        long tiles = (m + rows - 1) / rows;
        Parallel.For(0L, tiles, new ParallelOptions { MaxDegreeOfParallelism = CpuParallel.MaxThreads },
            () => (nint)NativeMemory.AlignedAlloc((nuint)((long)rows * d.K * sizeof(float)), 64),
            (t, _, col) =>
            {
                long r0 = t * rows, r1 = Math.Min(m, r0 + rows);
                Im2ColRows(d, x, r0, r1, (float*)col);
                Sgemm.Multiply(false, true, (int)(r1 - r0), d.Cout, d.K, (float*)col, d.K, w, d.K, y + r0 * d.Cout, d.Cout, false, threads: 1);
                return col;
            },
            col => NativeMemory.AlignedFree((void*)col));
    }

    /// Returns false (nothing done) when there are fewer images than threads; the grouped path runs then.
    static bool FastConv2dBackward(ConvDims d, float* x, float* w, float* gy, float* gx, float* gw)
    {
        int threads = Math.Min(CpuParallel.MaxThreads, d.N);
        if (threads < 2 && CpuParallel.MaxThreads > 1) return false;
        int rows = TileRows(d);
        long weights = (long)d.Cout * d.K;
        var partials = new nint[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int n0 = d.N * t / threads, n1 = d.N * (t + 1) / threads;
            float* col = (float*)NativeMemory.AlignedAlloc((nuint)((long)rows * d.K * sizeof(float)), 64);
            float* partial = gw == null ? null : (float*)NativeMemory.AlignedAlloc((nuint)(weights * sizeof(float)), 64);
            if (partial != null) new Span<float>(partial, (int)weights).Clear();
            if (gx != null) new Span<float>(gx + (long)n0 * d.H * d.W * d.Cin, (n1 - n0) * d.H * d.W * d.Cin).Clear();
            long first = (long)n0 * d.PixelsOut, last = (long)n1 * d.PixelsOut;
            for (long r0 = first; r0 < last; r0 += rows)
            {
                long r1 = Math.Min(last, r0 + rows);
                int count = (int)(r1 - r0);
                float* gyTile = gy + r0 * d.Cout;
                if (partial != null)
                {
                    Im2ColRows(d, x, r0, r1, col);
                    Sgemm.Multiply(true, false, d.Cout, d.K, count, gyTile, d.Cout, col, d.K, partial, d.K, true, threads: 1);
                }
                if (gx != null)
                {
                    Sgemm.Multiply(false, false, count, d.K, d.Cout, gyTile, d.Cout, w, d.K, col, d.K, false, threads: 1);
                    Col2ImRowsAdd(d, col, r0, r1, gx);
                }
            }
            NativeMemory.AlignedFree(col);
            partials[t] = (nint)partial;
        });
        if (gw != null)
        {
            var total = new Span<float>(gw, (int)weights);
            new ReadOnlySpan<float>((float*)partials[0], (int)weights).CopyTo(total);
            for (int t = 1; t < threads; t++) VectorMath.AddInto(total, new ReadOnlySpan<float>((float*)partials[t], (int)weights));
            foreach (var p in partials) NativeMemory.AlignedFree((void*)p);
        }
        return true;
    }
}
