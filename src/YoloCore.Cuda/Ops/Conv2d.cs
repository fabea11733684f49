using System.Runtime.InteropServices;
using YoloCore.Native;

namespace YoloCore.Cuda;

// Convolution in NHWC / OHWI as cuBLAS GEMMs (conv2d.cu holds im2col, col2im and the bias add):
// 1×1 stride 1 is one GEMM (Gemm, in MatMul.cs); k×k unfolds patches first, in groups of whole
// images so the column buffer stays near ColumnBudgetBytes. Same scheme as the CPU backend's Conv2d.
// Opt-in (YOLOCORE_IMPLICIT_GEMM=1): implicit-GEMM tensor-core kernels instead (Conv2dImplicit.cs).
public sealed unsafe partial class CudaBackend
{
    const long ColumnBudgetBytes = 256L << 20;

    [StructLayout(LayoutKind.Sequential)]
    struct ConvGeom
    {
        public int H, W, Cin, Ho, Wo, Kh, Kw, Sh, Sw, Ph, Pw;
    }

    /// conv2d.cu's OutMap: where the implicit GEMM writes its output pixel (n, i, j), and whether
    /// it adds to what is there (Add = 1).
    [StructLayout(LayoutKind.Sequential)]
    struct OutMap
    {
        public int H, W, Sh, Sw, Oh, Ow, Add;

        public static OutMap Dense(ConvGeom c) => new() { H = c.Ho, W = c.Wo, Sh = 1, Sw = 1 };
    }

    static ConvGeom Geometry(Tensor x, Tensor w, Conv2dGeometry g) => Geometry(x.Shape, w, g);

    /// For an input of shape x (a tensor's, or parts' side by side).
    static ConvGeom Geometry(Shape x, Tensor w, Conv2dGeometry g) => new()
    {
        H = x[1], W = x[2], Cin = x[3], Kh = w.Shape[1], Kw = w.Shape[2],
        Ho = g.OutH(x[1], w.Shape[1]), Wo = g.OutW(x[2], w.Shape[2]),
        Sh = g.StrideH, Sw = g.StrideW, Ph = g.PadH, Pw = g.PadW,
    };

    static bool IsPointwise(ConvGeom c) => c.Kh == 1 && c.Kw == 1 && c.Sh == 1 && c.Sw == 1 && c.Ph == 0 && c.Pw == 0;

    /// Runs body(n0, images, col) over groups of whole images with one column buffer.
    void ForEachGroup(Tensor x, ConvGeom c, Action<int, int, ulong> body)
    {
        int n = x.Shape[0], es = x.DType.SizeOf();
        long k = (long)c.Kh * c.Kw * c.Cin, perImage = (long)c.Ho * c.Wo * k * es;
        int per = (int)Math.Clamp(ColumnBudgetBytes / Math.Max(1, perImage), 1, n);
        using var col = Tensor.Empty(new Shape(per * c.Ho * c.Wo, (int)k), x.DType, Device);
        for (int n0 = 0; n0 < n; n0 += per) body(n0, Math.Min(per, n - n0), Ptr(col));
    }

    void Im2Col(Tensor x, ConvGeom c, int n0, int images, ulong col)
    {
        long total = (long)images * c.Ho * c.Wo * c.Kh * c.Kw * c.Cin;
        kernel.Im2col(Suffix(x, "Conv2d"), total, Ptr(x), col, (long)images, (long)n0, c);
    }

    /// batchSums (float64 [2, Cout], or null): BatchNorm's Σy and Σy² per channel, from the
    /// implicit GEMM's epilogue where it runs, else from one pass over y.
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y, Tensor? batchSums = null) =>
        Convolve(ConvInput.Of(x), w, bias, g, y, batchSums, default);

    /// The parts read where they lie and deferred ones applied in the implicit GEMM's loads
    /// (XParts), else computed and concatenated first.
    public void Conv2d(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor batchSums) => Convolve(x, w, null, g, y, batchSums, default);

    /// Conv2d; with stats.Map the implicit GEMM's epilogue also finishes a deferred Conv block's
    /// statistics from the batch sums, and then it returns true (else the caller does).
    bool Convolve(ConvInput input, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y, Tensor? batchSums, BnStatistics stats)
    {
        var x = input.First;
        var c = Geometry(input.Shape, w, g);
        int cout = w.Shape[0], k = c.Kh * c.Kw * c.Cin;
        if (batchSums is not null) BatchSums.Check(batchSums, cout);
        bool implicitGemm = UsesImplicitGemm(x, w, c, pointwise: batchSums is not null || bias is not null || !input.IsPlain, anyCout: true)
            && bias?.DType is null or DType.Float16;
        if (!input.IsPlain && !(implicitGemm && ReadsInPlace(input)))
        {
            using var joined = input.Joined(this);
            return Convolve(ConvInput.Of(joined), w, bias, g, y, batchSums, stats);
        }
        bool finished = false;
        if (implicitGemm)
        {
            finished = bias is null && batchSums is not null && stats.Map != 0;
            ImplicitForward(x, w, c, y, bias, bias is null ? batchSums : null, Parts(input), finished ? stats : default);
            if (bias is null) batchSums = null; // taken in the epilogue
            bias = null; // added there
        }
        else if (IsPointwise(c))
            Gemm(false, true, x.Shape[0] * c.Ho * c.Wo, cout, c.Cin, Ptr(x), c.Cin, Ptr(w), c.Cin, Ptr(y), cout, false, x.DType);
        else
            ForEachGroup(x, c, (n0, images, col) =>
            {
                Im2Col(x, c, n0, images, col);
                Gemm(false, true, images * c.Ho * c.Wo, cout, k, col, k, Ptr(w), k,
                    Ptr(y) + (ulong)((long)n0 * c.Ho * c.Wo * cout * y.DType.SizeOf()), cout, false, x.DType);
            });
        if (bias is not null)
        {
            kernel.AddBias(Suffix(y, "Conv2d"), y.Count, Ptr(y), Ptr(bias), y.Count, cout);
        }
        if (batchSums is not null) WriteBatchSums(y, batchSums);
        return finished;
    }

    /// addToGx: gx already holds the input's other gradients, and this one is added to them (the
    /// 1×1 GEMM with β = 1, the implicit input gradient in its epilogue; the im2col path apart, then added).
    public void Conv2dBackward(Tensor x, Tensor w, Tensor gy, Conv2dGeometry g, Tensor? gx, Tensor? gw, Tensor? gbias, bool addToGx = false)
    {
        var c = Geometry(x, w, g);
        int cout = w.Shape[0], k = c.Kh * c.Kw * c.Cin, m = x.Shape[0] * c.Ho * c.Wo, es = x.DType.SizeOf();
        // A weight gradient in float32 from float16 (its master's dtype) comes out of the GEMMs' float32 sums.
        if (gw is not null && gw.DType != x.DType && gw.DType != DType.Float32)
            throw new NotSupportedException($"Conv2dBackward on CUDA writes the weight gradient in the input's dtype or float32, not {gw.DType.Name()}");
        bool implicitGx = gx is not null && UsesImplicitInputGradient(x, w, c), implicitGw = gw is not null && UsesImplicitGemm(x, w, c, pointwise: implicitGx);
        if (addToGx && gx is not null && !IsPointwise(c) && !implicitGx)
        {
            using var own = Tensor.Empty(gx.Shape, gx.DType, Device);
            Conv2dBackward(x, w, gy, g, own, gw, gbias);
            AddInPlace(gx, own);
            return;
        }
        if (gbias is not null) ChannelSums(gy, m, cout, gbias);
        if (implicitGx && implicitGw)
        {
            ImplicitBackward(x, w, gy, c, gx!, addToGx, gw!);
            return;
        }
        if (IsPointwise(c))
        {
            if (gw is not null) Gemm(true, false, cout, c.Cin, m, Ptr(gy), cout, Ptr(x), c.Cin, Ptr(gw), c.Cin, false, x.DType, gw.DType);
            if (gx is not null) Gemm(false, false, m, c.Cin, cout, Ptr(gy), cout, Ptr(w), c.Cin, Ptr(gx), c.Cin, addToGx, x.DType);
            return;
        }
        if (implicitGx)
        {
            ImplicitInputGradient(w, gy, c, gx!, addToGx);
            gx = null;
        }
        if (implicitGw)
        {
            ImplicitWeightGradient(x, gy, c, cout, gw!);
            gw = null;
        }
        if (gx is null && gw is null) return;
        ForEachGroup(x, c, (n0, images, col) =>
        {
            int rows = images * c.Ho * c.Wo;
            ulong gyGroup = Ptr(gy) + (ulong)((long)n0 * c.Ho * c.Wo * cout * es);
            if (gw is not null)
            {
                Im2Col(x, c, n0, images, col);
                Gemm(true, false, cout, k, rows, gyGroup, cout, col, k, Ptr(gw), k, accumulate: n0 > 0, x.DType, gw.DType);
            }
            if (gx is not null)
            {
                Gemm(false, false, rows, k, cout, gyGroup, cout, Ptr(w), k, col, k, false, x.DType);
                long total = (long)images * c.H * c.W * c.Cin;
                kernel.Col2im(Suffix(x, "Conv2d"), total, col, Ptr(gx), (long)images, (long)n0, c);
            }
        });
    }
}
