namespace YoloCore.Cli.Drawing;

/// An RGB image to draw plots and detections on: filled and outlined rectangles, thick lines and
/// 5×7 bitmap text, saved as PNG or JPEG through SkiaSharp. Coordinates are clipped to the image.
public sealed class Canvas(int width, int height)
{
    readonly byte[] rgb = new byte[width * height * 3];

    public int Width { get; } = width;
    public int Height { get; } = height;

    public static Canvas FromRgb(byte[] pixels, int width, int height)
    {
        var c = new Canvas(width, height);
        pixels.AsSpan(0, width * height * 3).CopyTo(c.rgb);
        return c;
    }

    public void Set(int x, int y, (byte R, byte G, byte B) c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int o = (y * Width + x) * 3;
        rgb[o] = c.R; rgb[o + 1] = c.G; rgb[o + 2] = c.B;
    }

    public void Fill((byte, byte, byte) c) => FillRect(0, 0, Width, Height, c);

    public void FillRect(int x0, int y0, int x1, int y1, (byte, byte, byte) c)
    {
        for (int y = Math.Max(0, y0); y < Math.Min(Height, y1); y++)
            for (int x = Math.Max(0, x0); x < Math.Min(Width, x1); x++) Set(x, y, c);
    }

    public void DrawRect(int x0, int y0, int x1, int y1, (byte, byte, byte) c, int thickness = 1)
    {
        FillRect(x0, y0, x1 + 1, y0 + thickness, c);
        FillRect(x0, y1 - thickness + 1, x1 + 1, y1 + 1, c);
        FillRect(x0, y0, x0 + thickness, y1 + 1, c);
        FillRect(x1 - thickness + 1, y0, x1 + 1, y1 + 1, c);
    }

    /// Bresenham's line, widened to a square brush of the given thickness.
    public void DrawLine(int x0, int y0, int x1, int y1, (byte, byte, byte) c, int thickness = 1)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        int r = thickness / 2;
        while (true)
        {
            FillRect(x0 - r, y0 - r, x0 - r + thickness, y0 - r + thickness, c);
            if (x0 == x1 && y0 == y1) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel drawn as scale×scale.
    public void DrawText(int x, int y, string text, (byte, byte, byte) c, int scale = 1)
    {
        for (int i = 0; i < text.Length; i++)
            for (int gx = 0; gx < BitmapFont.Width; gx++)
                for (int gy = 0; gy < BitmapFont.Height; gy++)
                    if (BitmapFont.Pixel(text[i], gx, gy))
                        FillRect(x + (i * BitmapFont.Advance + gx) * scale, y + gy * scale, x + (i * BitmapFont.Advance + gx + 1) * scale, y + (gy + 1) * scale, c);
    }

    /// Saves as PNG, or JPEG when the extension is .jpg/.jpeg.
    public void Save(string path)
    {
        using var image = new YoloCore.Data.RgbImage(Width, Height);
        rgb.CopyTo(image.Pixels);
        YoloCore.Data.ImageEncoder.Save(image, Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg" ? path : Path.ChangeExtension(path, ".png"));
    }
}
