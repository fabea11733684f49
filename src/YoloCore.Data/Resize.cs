namespace YoloCore.Data;

/// Image resizing with OpenCV's cv2.resize semantics, which YOLOv5's numbers depend on:
/// Bilinear = INTER_LINEAR (half-pixel centres, edge pixels replicated, 11-bit fixed-point weights),
/// Area = INTER_AREA for shrinking (each output pixel averages the input pixels its footprint covers,
/// fractional edges weighted). Both are separable passes driven by per-axis tables computed once,
/// and both reproduce OpenCV's fixed-point arithmetic bit for bit (see OpenCvGoldenTests).
public static class Resize
{
    const int CoefBits = 11, CoefScale = 1 << CoefBits;

    public static RgbImage Bilinear(RgbImage src, int width, int height)
    {
        var dst = new RgbImage(width, height);
        BilinearInto(src, dst, 0, 0, width, height);
        return dst;
    }

    /// Resizes src to w×h and writes it into dst at (left, top).
    public static unsafe void BilinearInto(RgbImage src, RgbImage dst, int left, int top, int w, int h)
    {
        if (left < 0 || top < 0 || left + w > dst.Width || top + h > dst.Height) throw new ArgumentOutOfRangeException(nameof(w), "resize target outside the destination image");
        int sw = src.Width, sh = src.Height;
        var xo0 = new int[w]; var xo1 = new int[w]; var xa0 = new int[w]; var xa1 = new int[w];
        LinearTable(sw, w, xo0, xo1, xa0, xa1, zeroOutside: true);
        var yo0 = new int[h]; var yo1 = new int[h]; var ya0 = new int[h]; var ya1 = new int[h];
        LinearTable(sh, h, yo0, yo1, ya0, ya1, zeroOutside: false);
        var taps = new HorizontalTaps(xo0, xo1, xa0, xa1, new int[w]);

        var rowA = new int[w * 3]; var rowB = new int[w * 3];
        int rowAIndex = -1, rowBIndex = -1;
        fixed (byte* s = src.Array, d = dst.Array)
        {
            for (int dy = 0; dy < h; dy++)
            {
                int sy0 = yo0[dy], sy1 = yo1[dy];
                // Two cached horizontal rows: consecutive output rows mostly share source rows.
                if (rowAIndex != sy0 && rowBIndex == sy0) { (rowA, rowB) = (rowB, rowA); (rowAIndex, rowBIndex) = (rowBIndex, rowAIndex); }
                fixed (int* ra = rowA, rb = rowB)
                {
                    if (rowAIndex != sy0) { taps.Run(s + (long)sy0 * sw * 3, ra); rowAIndex = sy0; }
                    if (rowBIndex != sy1) { taps.Run(s + (long)sy1 * sw * 3, rb); rowBIndex = sy1; }
                    RowBlend.BlendResize(ra, rb, ya0[dy], ya1[dy], d + ((long)(top + dy) * dst.Width + left) * 3, w * 3);
                }
            }
        }
    }

    /// Per output index: the two source taps (clamped to the image) and their weights, each rounded
    /// on its own as OpenCV does (so they need not sum to exactly 2048). Past an edge OpenCV moves
    /// all weight to the edge pixel horizontally but keeps the weights (on the clamped rows) vertically.
    static void LinearTable(int srcSize, int dstSize, int[] i0, int[] i1, int[] a0, int[] a1, bool zeroOutside)
    {
        double scale = (double)srcSize / dstSize;
        for (int d = 0; d < dstSize; d++)
        {
            float f = (float)((d + 0.5) * scale - 0.5);
            int s = (int)MathF.Floor(f);
            f -= s;
            if (zeroOutside)
            {
                if (s < 0) { s = 0; f = 0; }
                if (s >= srcSize - 1) { s = srcSize - 1; f = 0; }
            }
            i0[d] = Math.Clamp(s, 0, srcSize - 1);
            i1[d] = Math.Clamp(s + 1, 0, srcSize - 1);
            a0[d] = (int)MathF.Round((1 - f) * CoefScale);
            a1[d] = (int)MathF.Round(f * CoefScale);
        }
    }

    /// cv2.INTER_AREA for shrinking (YOLOv5 uses it to shrink validation images). Enlarging falls
    /// back to Bilinear, as OpenCV does.
    public static RgbImage Area(RgbImage src, int width, int height)
    {
        if (width > src.Width || height > src.Height) return Bilinear(src, width, height);
        var (xStart, xIdx, xW) = AreaTable(src.Width, width);
        var (yStart, yIdx, yW) = AreaTable(src.Height, height);
        var dst = new RgbImage(width, height);
        var acc = new float[width * 3];
        var hrow = new float[width * 3];
        var s = src.Pixels;
        var d = dst.Pixels;
        int sStride = src.Stride;
        for (int dy = 0; dy < height; dy++)
        {
            Array.Clear(acc);
            for (int t = yStart[dy]; t < yStart[dy + 1]; t++)
            {
                var srow = s.Slice(yIdx[t] * sStride, sStride);
                for (int dx = 0; dx < width; dx++)
                {
                    float r = 0, g = 0, b = 0;
                    for (int k = xStart[dx]; k < xStart[dx + 1]; k++)
                    {
                        int o = xIdx[k] * 3;
                        float wk = xW[k];
                        r += srow[o] * wk; g += srow[o + 1] * wk; b += srow[o + 2] * wk;
                    }
                    hrow[dx * 3] = r; hrow[dx * 3 + 1] = g; hrow[dx * 3 + 2] = b;
                }
                float wy = yW[t];
                for (int i = 0; i < acc.Length; i++) acc[i] += hrow[i] * wy;
            }
            var drow = d.Slice(dy * dst.Stride, dst.Stride);
            for (int i = 0; i < acc.Length; i++) drow[i] = (byte)Math.Clamp((int)MathF.Round(acc[i]), 0, 255);
        }
        return dst;
    }

    /// OpenCV's computeResizeAreaTab: for output i the footprint [i·scale, (i+1)·scale) in source
    /// pixels, whole pixels weighted 1/scale and partial ones by their covered fraction.
    static (int[] start, int[] idx, float[] w) AreaTable(int srcSize, int dstSize)
    {
        double scale = (double)srcSize / dstSize;
        var start = new int[dstSize + 1];
        var idx = new List<int>(); var w = new List<float>();
        for (int d = 0; d < dstSize; d++)
        {
            start[d] = idx.Count;
            double f1 = d * scale, f2 = f1 + scale;
            int s1 = (int)Math.Ceiling(f1), s2 = (int)Math.Floor(f2);
            double cell = Math.Min(scale, srcSize - f1);
            s2 = Math.Min(s2, srcSize - 1);
            s1 = Math.Min(s1, s2);
            if (s1 - f1 > 1e-3) { idx.Add(s1 - 1); w.Add((float)((s1 - f1) / cell)); }
            for (int s = s1; s < s2; s++) { idx.Add(s); w.Add((float)(1 / cell)); }
            if (f2 - s2 > 1e-3) { idx.Add(s2); w.Add((float)(Math.Min(Math.Min(f2 - s2, 1.0), cell) / cell)); }
        }
        start[dstSize] = idx.Count;
        return (start, idx.ToArray(), w.ToArray());
    }
}
