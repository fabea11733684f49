using System.Numerics;

namespace YoloCore.Cpu;

// 2-D convolution in NHWC with OHWI weights, as GEMMs. A 1×1 stride-1 convolution is exactly one
// GEMM: Y[N·H·W, Cout] = X[N·H·W, Cin] · Wᵀ. A k×k one unfolds patches first (im2col):
// Col[N·Ho·Wo, kh·kw·Cin], whose column order (kh, kw, Cin) is the OHWI weight's row order, so
// Y = Col · Wᵀ. Backward: dW = dYᵀ·Col, dCol = dY·W, folded back into dX by col2im. Images are
// processed in groups so the Col buffer stays near ColumnBudgetBytes; the backward pass rebuilds
// Col instead of keeping it from the forward pass. This is the reference (with the plain GEMM);
// the fast tier multiplies with the blocked Sgemm and tiles k×k layers (Fast/Conv2d.cs).
public sealed unsafe partial class CpuBackend
{
    const long ColumnBudgetBytes = 64L << 20;

    /// batchSums (or null): BatchNorm's Σy and Σy² per channel, float64 [2, Cout], from y.
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y, Tensor? batchSums = null)
    {
        if (batchSums is not null) BatchSums.Check(batchSums, w.Shape[0]);
        Floating(x, "Conv2d", () => ConvKernel<float>.Forward(x, w, bias, g, y, UseFast(x)), () => ConvKernel<double>.Forward(x, w, bias, g, y, false));
        if (batchSums is not null) WriteBatchSums(y, batchSums);
    }

    /// The parts computed and concatenated first (ConvInput.Joined), then the convolution.
    public void Conv2d(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor batchSums)
    {
        var joined = x.Joined(this);
        try { Conv2d(joined, w, null, g, y, batchSums); }
        finally { if (!ReferenceEquals(joined, x.First)) joined.Dispose(); }
    }

    /// gw or gbias in another dtype than x (their masters') are computed in x's, then converted;
    /// with addToGx the input gradient too is computed apart, then added.
    public void Conv2dBackward(Tensor x, Tensor w, Tensor gy, Conv2dGeometry g, Tensor? gx, Tensor? gw, Tensor? gbias, bool addToGx = false)
    {
        if (addToGx && gx is not null)
        {
            AddWritten(gx, own => Conv2dBackward(x, w, gy, g, own, gw, gbias));
            return;
        }
        using var gwX = gw is null || gw.DType == x.DType ? null : Tensor.Empty(gw.Shape, x.DType, x.Device);
        using var gbX = gbias is null || gbias.DType == x.DType ? null : Tensor.Empty(gbias.Shape, x.DType, x.Device);
        Tensor? gwK = gwX ?? gw, gbK = gbX ?? gbias;
        Floating(x, "Conv2dBackward", () => ConvKernel<float>.Backward(x, w, gy, g, gx, gwK, gbK, UseFast(x)),
            () => ConvKernel<double>.Backward(x, w, gy, g, gx, gwK, gbK, false));
        if (gwX is not null) Copy(gwX, gw!);
        if (gbX is not null) Copy(gbX, gbias!);
    }

    readonly record struct ConvDims(int N, int H, int W, int Cin, int Cout, int Kh, int Kw, int Ho, int Wo, Conv2dGeometry G)
    {
        public static ConvDims Of(Tensor x, Tensor w, Conv2dGeometry g) => new(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3],
            w.Shape[0], w.Shape[1], w.Shape[2], g.OutH(x.Shape[1], w.Shape[1]), g.OutW(x.Shape[2], w.Shape[2]), g);

        public int K => Kh * Kw * Cin;
        public int PixelsOut => Ho * Wo;
        public bool IsPointwise => Kh == 1 && Kw == 1 && G.StrideH == 1 && G.StrideW == 1 && G.PadH == 0 && G.PadW == 0;

        /// How many images per im2col group for a column buffer of elementSize-byte values.
        public int ImagesPerGroup(int elementSize) =>
            (int)Math.Clamp(ColumnBudgetBytes / Math.Max(1L, (long)PixelsOut * K * elementSize), 1, N);
    }

    /// fast: T is float and the op takes the fast tier.
    static class ConvKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Forward(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y, bool fast)
        {
            var d = ConvDims.Of(x, w, g);
            T* px = Ptr<T>(x), pw = Ptr<T>(w), py = Ptr<T>(y);
            if (d.IsPointwise)
                Gemm.Multiply(fast, false, true, d.N * d.PixelsOut, d.Cout, d.Cin, px, d.Cin, pw, d.Cin, py, d.Cout, false);
            else if (fast)
                FastConv2dForward(d, (float*)px, (float*)pw, (float*)py);
            else
                ForEachGroup(d, x.DType, (n0, images, col) =>
                {
                    Im2Col(d, px, n0, images, col);
                    Gemm.Multiply(fast, false, true, images * d.PixelsOut, d.Cout, d.K, col, d.K, pw, d.K,
                        py + (long)n0 * d.PixelsOut * d.Cout, d.Cout, false);
                });
            if (bias is not null) AddBias(py, Ptr<T>(bias), (long)d.N * d.PixelsOut, d.Cout);
        }

        public static void Backward(Tensor x, Tensor w, Tensor gy, Conv2dGeometry g, Tensor? gx, Tensor? gw, Tensor? gbias, bool fast)
        {
            var d = ConvDims.Of(x, w, g);
            T* px = Ptr<T>(x), pw = Ptr<T>(w), pgy = Ptr<T>(gy);
            long m = (long)d.N * d.PixelsOut;
            if (gbias is not null) ColumnSums(pgy, m, d.Cout, Ptr<T>(gbias), fast);
            if (d.IsPointwise)
            {
                if (gw is not null) Gemm.Multiply(fast, true, false, d.Cout, d.Cin, (int)m, pgy, d.Cout, px, d.Cin, Ptr<T>(gw), d.Cin, false);
                if (gx is not null) Gemm.Multiply(fast, false, false, (int)m, d.Cin, d.Cout, pgy, d.Cout, pw, d.Cin, Ptr<T>(gx), d.Cin, false);
                return;
            }
            T* pgw = gw is null ? null : Ptr<T>(gw), pgx = gx is null ? null : Ptr<T>(gx);
            if (fast && FastConv2dBackward(d, (float*)px, (float*)pw, (float*)pgy, (float*)pgx, (float*)pgw)) return;
            ForEachGroup(d, x.DType, (n0, images, col) =>
            {
                int rows = images * d.PixelsOut;
                T* gyGroup = pgy + (long)n0 * d.PixelsOut * d.Cout;
                if (pgw != null)
                {
                    Im2Col(d, px, n0, images, col);
                    Gemm.Multiply(fast, true, false, d.Cout, d.K, rows, gyGroup, d.Cout, col, d.K, pgw, d.K, accumulate: n0 > 0);
                }
                if (pgx != null)
                {
                    Gemm.Multiply(fast, false, false, rows, d.K, d.Cout, gyGroup, d.Cout, pw, d.K, col, d.K, false);
                    Col2Im(d, col, n0, images, pgx);
                }
            });
        }

        delegate void GroupBody(int n0, int images, T* col);

        /// Runs body over groups of whole images with one reused column buffer (a tensor, so it
        /// shows in the memory statistics).
        static void ForEachGroup(ConvDims d, DType dtype, GroupBody body)
        {
            int per = d.ImagesPerGroup(sizeof(T));
            using var col = Tensor.Empty(new Shape(per * d.PixelsOut, d.K), dtype);
            T* pc = Ptr<T>(col);
            for (int n0 = 0; n0 < d.N; n0 += per) body(n0, Math.Min(per, d.N - n0), pc);
        }

        /// Col[(n, oh, ow), (ki, kj, c)] = x[n, oh·s - p + ki, ow·s - p + kj, c], zero outside.
        static void Im2Col(ConvDims d, T* x, int n0, int images, T* col)
        {
            int k = d.K, cin = d.Cin;
            CpuParallel.For((long)images * d.PixelsOut, 256, (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    int n = n0 + (int)(r / d.PixelsOut), pix = (int)(r % d.PixelsOut);
                    int oh = pix / d.Wo, ow = pix % d.Wo;
                    T* dst = col + r * k;
                    for (int ki = 0; ki < d.Kh; ki++)
                    {
                        int ih = oh * d.G.StrideH - d.G.PadH + ki;
                        for (int kj = 0; kj < d.Kw; kj++, dst += cin)
                        {
                            int iw = ow * d.G.StrideW - d.G.PadW + kj;
                            if ((uint)ih < (uint)d.H && (uint)iw < (uint)d.W)
                                new ReadOnlySpan<T>(x + (((long)n * d.H + ih) * d.W + iw) * cin, cin).CopyTo(new Span<T>(dst, cin));
                            else new Span<T>(dst, cin).Clear();
                        }
                    }
                }
            });
        }

        /// The adjoint of Im2Col, written as a gather so each input pixel is owned by one thread:
        /// dx[n, ih, iw, c] = Σ over (ki, kj) whose output pixel (oh, ow) exists of dCol[(n, oh, ow), (ki, kj, c)].
        static void Col2Im(ConvDims d, T* col, int n0, int images, T* gx)
        {
            int k = d.K, cin = d.Cin;
            var g = d.G;
            CpuParallel.For((long)images * d.H * d.W, 256, (s, e) =>
            {
                for (long p = s; p < e; p++)
                {
                    int nl = (int)(p / (d.H * d.W)), hw = (int)(p % (d.H * d.W));
                    int ih = hw / d.W, iw = hw % d.W;
                    var dst = new Span<T>(gx + ((long)(n0 + nl) * d.H * d.W + hw) * cin, cin);
                    dst.Clear();
                    for (int ki = 0; ki < d.Kh; ki++)
                    {
                        int th = ih + g.PadH - ki;
                        if (th < 0 || th % g.StrideH != 0) continue;
                        int oh = th / g.StrideH;
                        if (oh >= d.Ho) continue;
                        for (int kj = 0; kj < d.Kw; kj++)
                        {
                            int tw = iw + g.PadW - kj;
                            if (tw < 0 || tw % g.StrideW != 0) continue;
                            int ow = tw / g.StrideW;
                            if (ow >= d.Wo) continue;
                            T* src = col + ((long)nl * d.PixelsOut + oh * d.Wo + ow) * k + (ki * d.Kw + kj) * cin;
                            for (int c = 0; c < cin; c++) dst[c] += src[c];
                        }
                    }
                }
            });
        }

        static void AddBias(T* y, T* bias, long rows, int cout) =>
            CpuParallel.For(rows, Math.Max(1, ElementwiseGrain / cout), (s, e) =>
            {
                var b = new ReadOnlySpan<T>(bias, cout);
                for (long r = s; r < e; r++)
                {
                    var row = new Span<T>(y + r * cout, cout);
                    for (int c = 0; c < cout; c++) row[c] += b[c];
                }
            });

        /// out[c] = Σ_r m[r, c], accumulated in double.
        static void ColumnSums(T* m, long rows, int cols, T* result, bool fast)
        {
            if (fast)
            {
                var s = ChannelReductions.Sum((float*)m, null, rows, cols);
                for (int c = 0; c < cols; c++) result[c] = T.CreateChecked(s[c]);
                return;
            }
            var sum = new double[cols];
            for (long r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) sum[c] += double.CreateTruncating(m[r * cols + c]);
            for (int c = 0; c < cols; c++) result[c] = T.CreateChecked(sum[c]);
        }
    }
}
