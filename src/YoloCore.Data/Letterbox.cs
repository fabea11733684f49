namespace YoloCore.Data;

/// Where an original image sits inside a letterboxed one: original pixel (x, y) lands at
/// (x·GainX + PadLeft, y·GainY + PadTop). GainX and GainY are the exact content scales
/// (new content width / original width); they differ from the nominal ratio only by rounding.
public readonly record struct LetterboxInfo(int OriginalWidth, int OriginalHeight, double GainX, double GainY, int PadLeft, int PadTop)
{
    public (double X, double Y) ToLetterbox(double x, double y) => (x * GainX + PadLeft, y * GainY + PadTop);
    public (double X, double Y) ToOriginal(double x, double y) => ((x - PadLeft) / GainX, (y - PadTop) / GainY);

    /// A box (x1, y1, x2, y2) in letterbox pixels back to original pixels, clipped to the image
    /// (YOLOv5's scale_boxes + clip_boxes).
    public (double X1, double Y1, double X2, double Y2) BoxToOriginal(double x1, double y1, double x2, double y2)
    {
        var (a, b) = ToOriginal(x1, y1);
        var (c, d) = ToOriginal(x2, y2);
        return (Math.Clamp(a, 0, OriginalWidth), Math.Clamp(b, 0, OriginalHeight), Math.Clamp(c, 0, OriginalWidth), Math.Clamp(d, 0, OriginalHeight));
    }
}

/// YOLOv5's letterbox: resize keeping the aspect ratio to fit (height, width), then pad with grey
/// 114. r = min(H/h, W/w) (capped at 1 without scaleUp), the content is round(w·r)×round(h·r)
/// (Python's round: half to even), the padding is split with round(d/2 ∓ 0.1) so an odd remainder
/// puts the extra pixel at the bottom/right. With auto the padding is reduced modulo stride.
public static class Letterbox
{
    public const byte Grey = 114;

    public static RgbImage Apply(RgbImage im, int height, int width, out LetterboxInfo info,
        bool auto = false, bool scaleUp = true, int stride = 32, byte color = Grey)
    {
        int h = im.Height, w = im.Width;
        double r = Math.Min((double)height / h, (double)width / w);
        if (!scaleUp) r = Math.Min(r, 1.0);
        int newW = (int)Math.Round(w * r, MidpointRounding.ToEven), newH = (int)Math.Round(h * r, MidpointRounding.ToEven);
        double dw = width - newW, dh = height - newH;
        if (auto) { dw %= stride; dh %= stride; }
        dw /= 2; dh /= 2;
        int top = (int)Math.Round(dh - 0.1, MidpointRounding.ToEven), bottom = (int)Math.Round(dh + 0.1, MidpointRounding.ToEven);
        int left = (int)Math.Round(dw - 0.1, MidpointRounding.ToEven), right = (int)Math.Round(dw + 0.1, MidpointRounding.ToEven);
        int outW = newW + left + right, outH = newH + top + bottom;

        var dst = new RgbImage(outW, outH);
        FillBorder(dst, left, top, newW, newH, color);
        if (newW == w && newH == h)
        {
            for (int y = 0; y < h; y++) im.Row(y).CopyTo(dst.Pixels.Slice(((top + y) * outW + left) * 3, w * 3));
        }
        else Resize.BilinearInto(im, dst, left, top, newW, newH);
        info = new LetterboxInfo(w, h, (double)newW / w, (double)newH / h, left, top);
        return dst;
    }

    /// Fills everything outside the content rectangle, leaving the content area for the caller.
    static void FillBorder(RgbImage dst, int left, int top, int w, int h, byte color)
    {
        var p = dst.Pixels;
        int stride = dst.Stride;
        p[..(top * stride)].Fill(color);
        p[((top + h) * stride)..].Fill(color);
        for (int y = top; y < top + h; y++)
        {
            var row = p.Slice(y * stride, stride);
            row[..(left * 3)].Fill(color);
            row[((left + w) * 3)..].Fill(color);
        }
    }
}
