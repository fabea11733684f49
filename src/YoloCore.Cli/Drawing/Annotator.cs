using SkiaSharp;
using YoloCore.Data;

namespace YoloCore.Cli.Drawing;

/// YOLOv5's Annotator (utils/plots.py, its PIL mode) on a Skia bitmap: boxes in the class colour,
/// a label on a filled background above the box (inside it when there is no room above), and
/// text, all anti-aliased in the embedded font. Line width and font size follow the image unless
/// given: lw = max(round((w + h) / 2 · 0.003), 2), font = max(round((w + h) / 2 · 0.035), 12).
public sealed class Annotator : IDisposable
{
    readonly SKBitmap bitmap;
    readonly SKCanvas canvas;
    readonly SKFont font;

    public int LineWidth { get; }
    public int Width => bitmap.Width;
    public int Height => bitmap.Height;

    public Annotator(RgbImage image, int lineWidth = 0, int fontSize = 0)
    {
        bitmap = ImageEncoder.ToBitmap(image);
        canvas = new SKCanvas(bitmap);
        int half = (image.Width + image.Height) / 2;
        LineWidth = lineWidth > 0 ? lineWidth : Math.Max((int)Math.Round(half * 0.003), 2);
        font = LabelFont.Font(fontSize > 0 ? fontSize : Math.Max((int)Math.Round(half * 0.035), 12));
    }

    static SKColor Colour((byte R, byte G, byte B) c) => new(c.R, c.G, c.B);

    public void Rectangle(float x1, float y1, float x2, float y2, (byte R, byte G, byte B) outline, int width)
    {
        using var paint = new SKPaint { Color = Colour(outline), Style = SKPaintStyle.Stroke, StrokeWidth = width, IsAntialias = false };
        // PIL's rectangle(width=w) draws inside the corners; the stroke is centred, so inset it by half.
        float h = width / 2f;
        canvas.DrawRect(SKRect.Create(x1 + h, y1 + h, Math.Max(0, x2 - x1 - width + 1), Math.Max(0, y2 - y1 - width + 1)), paint);
    }

    public void Fill(float x1, float y1, float x2, float y2, (byte R, byte G, byte B) colour)
    {
        using var paint = new SKPaint { Color = Colour(colour), Style = SKPaintStyle.Fill };
        canvas.DrawRect(new SKRect(x1, y1, x2, y2), paint);
    }

    /// Text with its top-left corner at (x, y), as PIL's draw.text.
    public void Text(float x, float y, string text, (byte R, byte G, byte B) colour)
    {
        using var paint = new SKPaint { Color = Colour(colour), IsAntialias = true };
        canvas.DrawText(text, x, y - font.Metrics.Ascent, SKTextAlign.Left, font, paint);
    }

    /// Width and height of text as drawn (PIL's font.getsize: advance width, ascent + descent).
    public (float Width, float Height) Measure(string text) => (font.MeasureText(text), font.Metrics.Descent - font.Metrics.Ascent);

    /// A box and, when given, its label: upstream's box_label.
    public void BoxLabel(float x1, float y1, float x2, float y2, string? label, (byte R, byte G, byte B) colour, (byte R, byte G, byte B)? textColour = null)
    {
        Rectangle(x1, y1, x2, y2, colour, LineWidth);
        if (string.IsNullOrEmpty(label)) return;
        var (w, h) = Measure(label);
        bool outside = y1 - h >= 0; // room for the label above the box
        float top = outside ? y1 - h : y1;
        Fill(x1, top, x1 + w + 1, top + h + 1, colour);
        Text(x1, top, label, textColour ?? (255, 255, 255));
    }

    public RgbImage ToImage()
    {
        canvas.Flush();
        return ImageEncoder.FromBitmap(bitmap);
    }

    public void Save(string path)
    {
        using var image = ToImage();
        ImageEncoder.Save(image, path);
    }

    public void Dispose()
    {
        font.Dispose();
        canvas.Dispose();
        bitmap.Dispose();
    }
}
