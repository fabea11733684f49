using System.Runtime.InteropServices;
using SkiaSharp;

namespace YoloCore.Data;

/// Writes RgbImage files through SkiaSharp: JPEG (quality 95 unless given, as cv2.imwrite's
/// default), PNG or WebP, chosen by the file's extension.
public static class ImageEncoder
{
    public static void Save(RgbImage image, string path, int quality = 95)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        var format = ext switch
        {
            ".jpg" or ".jpeg" => SKEncodedImageFormat.Jpeg,
            ".png" => SKEncodedImageFormat.Png,
            ".webp" => SKEncodedImageFormat.Webp,
            _ => throw new NotSupportedException($"{path}: cannot write {ext} images (jpg, png or webp)"),
        };
        using var bitmap = ToBitmap(image);
        using var data = bitmap.Encode(format, quality) ?? throw new IOException($"{path}: encoding failed");
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    /// The image as an opaque 32-bit Skia bitmap (for drawing on, and for encoding).
    public static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgb = image.Pixels;
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, n = image.Width * image.Height; i < n; i++)
        {
            rgba[4 * i] = rgb[3 * i];
            rgba[4 * i + 1] = rgb[3 * i + 1];
            rgba[4 * i + 2] = rgb[3 * i + 2];
            rgba[4 * i + 3] = 255;
        }
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    /// An opaque bitmap's pixels back as RgbImage.
    public static RgbImage FromBitmap(SKBitmap bitmap)
    {
        using var converted = bitmap.ColorType == SKColorType.Rgba8888 ? null : bitmap.Copy(SKColorType.Rgba8888);
        var source = converted ?? bitmap;
        var rgba = new byte[source.Width * source.Height * 4];
        Marshal.Copy(source.GetPixels(), rgba, 0, rgba.Length);
        var image = new RgbImage(source.Width, source.Height);
        for (int i = 0, n = source.Width * source.Height; i < n; i++)
        {
            image.Pixels[3 * i] = rgba[4 * i];
            image.Pixels[3 * i + 1] = rgba[4 * i + 1];
            image.Pixels[3 * i + 2] = rgba[4 * i + 2];
        }
        return image;
    }
}
