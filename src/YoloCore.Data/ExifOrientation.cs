namespace YoloCore.Data;

/// Applies an EXIF orientation (1..8) to pixels so that the image is shown upright, like PIL's
/// exif_transpose and OpenCV's imread. Orientations 5..8 swap width and height.
public static class ExifOrientation
{
    public static RgbImage Apply(RgbImage src, int orientation)
    {
        int w = src.Width, h = src.Height;
        bool swap = orientation is >= 5 and <= 8;
        var dst = new RgbImage(swap ? h : w, swap ? w : h);
        var s = src.Pixels;
        var d = dst.Pixels;
        int dw = dst.Width, dh = dst.Height;
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
            {
                // Source pixel shown at (x, y) after the transform.
                (int sx, int sy) = orientation switch
                {
                    2 => (w - 1 - x, y),            // mirrored left-right
                    3 => (w - 1 - x, h - 1 - y),    // rotated 180
                    4 => (x, h - 1 - y),            // mirrored top-bottom
                    5 => (y, x),                    // transpose
                    6 => (y, h - 1 - x),            // rotate 90 clockwise to show upright
                    7 => (w - 1 - y, h - 1 - x),    // transverse
                    8 => (w - 1 - y, x),            // rotate 90 counter-clockwise
                    _ => (x, y),
                };
                int so = (sy * w + sx) * 3, o = (y * dw + x) * 3;
                d[o] = s[so]; d[o + 1] = s[so + 1]; d[o + 2] = s[so + 2];
            }
        return dst;
    }
}
