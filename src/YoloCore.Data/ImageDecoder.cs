using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace YoloCore.Data;

/// What an image file's header says: the size after EXIF orientation, the format and orientation.
public readonly record struct ImageHeader(int Width, int Height, string Format, int Orientation);

/// Decodes JPEG, PNG and BMP (and the other formats ImageSharp 2.x reads) to RgbImage with the EXIF
/// orientation applied, as OpenCV's imread does. Decoding goes straight to Rgb24, ImageSharp's
/// cheapest pixel type for these formats, and copies the rows out once.
public static class ImageDecoder
{
    // One thread per decode: the loader already runs one decode per worker thread.
    static readonly Configuration config = CreateConfiguration();

    static Configuration CreateConfiguration()
    {
        var c = Configuration.Default.Clone();
        c.MaxDegreeOfParallelism = 1;
        c.PreferContiguousImageBuffers = true;
        return c;
    }

    public static RgbImage Decode(string path) => Decode(File.ReadAllBytes(path));

    public static RgbImage Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) throw new InvalidDataException("empty file");
        using var image = Image.Load<Rgb24>(config, bytes);
        var rgb = new RgbImage(image.Width, image.Height);
        CopyPixels(image, rgb);
        int orientation = Orientation(image.Metadata.ExifProfile);
        if (orientation <= 1) return rgb;
        var oriented = ExifOrientation.Apply(rgb, orientation);
        rgb.Dispose();
        return oriented;
    }

    static void CopyPixels(Image<Rgb24> image, RgbImage dst)
    {
        if (image.DangerousTryGetSinglePixelMemory(out var memory))
        {
            MemoryMarshal.AsBytes(memory.Span).CopyTo(dst.Pixels);
            return;
        }
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
                MemoryMarshal.AsBytes(rows.GetRowSpan(y)).CopyTo(dst.Row(y));
        });
    }

    /// Reads only the header (fast: no pixel decoding). Throws InvalidDataException for a file that
    /// is not a readable image.
    public static ImageHeader Identify(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0) throw new InvalidDataException("empty file");
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(config, bytes, out format);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"cannot identify image: {e.Message}", e);
        }
        if (info is null || format is null) throw new InvalidDataException("not a recognised image format");
        int orientation = Orientation(info.Metadata.ExifProfile);
        bool swap = orientation is >= 5 and <= 8;
        return new ImageHeader(swap ? info.Height : info.Width, swap ? info.Width : info.Height,
            format.Name.ToLowerInvariant(), orientation);
    }

    static int Orientation(ExifProfile? exif)
    {
        var value = exif?.GetValue(ExifTag.Orientation);
        return value is null ? 1 : value.Value is >= 1 and <= 8 ? value.Value : 1;
    }
}
