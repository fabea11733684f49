using System.Runtime.InteropServices;
using SkiaSharp;

namespace YoloCore.Data;

/// What an image file's header says: the size after EXIF orientation, the format and orientation.
public readonly record struct ImageHeader(int Width, int Height, string Format, int Orientation);

/// Decodes images to RgbImage with the pixels OpenCV's cv2.imread(path, IMREAD_COLOR) gives
/// (YOLOv5 reads every image that way), checked file by file against OpenCV 4.6 in the tests:
/// - JPEG through libjpeg-turbo, the decoder OpenCV uses, with the same defaults (integer IDCT,
///   fancy upsampling): through the system's TurboJPEG library when it loads (libjpeg-turbo with
///   its SIMD code, twice as fast as SkiaSharp's build of it, and the only way to the CMYK samples,
///   which OpenCV turns into RGB with its own formula), else through SkiaSharp;
/// - PNG, BMP and WebP through SkiaSharp: no colour management, alpha dropped without blending
///   (IMREAD_COLOR drops it), 16-bit samples cut to their high byte;
/// - TIFF through our own reader (Skia has none), see TiffDecoder;
/// - the EXIF orientation applied for JPEG and PNG and the TIFF orientation tag, as OpenCV does;
///   WebP's EXIF is ignored, as OpenCV ignores it.
public static class ImageDecoder
{
    public static RgbImage Decode(string path) => Decode(File.ReadAllBytes(path));

    public static RgbImage Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) throw new InvalidDataException("empty file");
        if (TiffDecoder.IsTiff(bytes)) return TiffDecoder.Decode(bytes);
        if (UseTurboJpeg && IsJpeg(bytes)) return DecodeJpeg(bytes);
        var (rgba, width, height, format, result) = DecodeRgba(bytes);
        // A JPEG that lost only its end marker is whole once the marker is back: YOLOv5 keeps such
        // files ("corrupt JPEG restored"). Any other early end is a damaged file.
        if (result == SKCodecResult.IncompleteInput && format == SKEncodedImageFormat.Jpeg && !EndsWithEoi(bytes))
            (rgba, _, _, _, result) = DecodeRgba([.. bytes, 0xFF, 0xD9]);
        if (result == SKCodecResult.IncompleteInput) throw new InvalidDataException($"{FormatName(format)} data is cut short");
        if (result != SKCodecResult.Success) throw new InvalidDataException($"cannot decode {FormatName(format)} image: {result}");
        var rgb = new RgbImage(width, height);
        DropAlpha(rgba, rgb.Pixels);
        int orientation = OrientationOf(format, bytes);
        if (orientation <= 1) return rgb;
        var oriented = ExifOrientation.Apply(rgb, orientation);
        rgb.Dispose();
        return oriented;
    }

    /// Whether JPEGs go through the system's TurboJPEG (when it loads; YOLOCORE_JPEG=skia turns it
    /// off, and tests compare the two paths).
    public static bool UseTurboJpeg { get; set; } =
        Environment.GetEnvironmentVariable("YOLOCORE_JPEG") != "skia" && YoloCore.Native.TurboJpeg.IsAvailable;

    static bool IsJpeg(ReadOnlySpan<byte> b) => b.Length > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;

    static RgbImage DecodeJpeg(ReadOnlySpan<byte> bytes)
    {
        RgbImage rgb;
        try { rgb = DecodeJpegWhole(bytes, keepWarned: EndsWithEoi(bytes)); }
        catch (YoloCore.Native.TurboJpegException e) when (e.IsWarning)
        {
            // Only the end marker lost (YOLOv5's "corrupt JPEG restored") decodes cleanly once it
            // is back; data cut earlier does not.
            try { rgb = DecodeJpegWhole([.. bytes, 0xFF, 0xD9], keepWarned: false); }
            catch (YoloCore.Native.TurboJpegException) { throw new InvalidDataException("jpeg data is cut short"); }
        }
        catch (YoloCore.Native.TurboJpegException e) when (!e.IsWarning) { throw new InvalidDataException($"cannot decode jpeg image: {e.Message}"); }
        int orientation = ExifReader.JpegOrientation(bytes);
        if (orientation <= 1) return rgb;
        var oriented = ExifOrientation.Apply(rgb, orientation);
        rgb.Dispose();
        return oriented;
    }

    /// libjpeg-turbo's pixels. keepWarned: a warning (damaged data in a file that has its end
    /// marker) keeps them, as OpenCV and YOLOv5 keep such images.
    static RgbImage DecodeJpegWhole(ReadOnlySpan<byte> bytes, bool keepWarned)
    {
        var (w, h, colour) = YoloCore.Native.TurboJpeg.ReadHeader(bytes);
        var rgb = new RgbImage(w, h);
        try
        {
            if (colour is YoloCore.Native.TJCS.TJCS_CMYK or YoloCore.Native.TJCS.TJCS_YCCK)
            {
                var cmyk = new byte[w * h * 4];
                Decompress(bytes, cmyk, w, h, YoloCore.Native.TJPF.TJPF_CMYK, keepWarned);
                CmykToRgb(cmyk, rgb.Pixels);
            }
            else Decompress(bytes, rgb.Pixels[..(w * h * 3)], w, h, YoloCore.Native.TJPF.TJPF_RGB, keepWarned);
            return rgb;
        }
        catch
        {
            rgb.Dispose();
            throw;
        }
    }

    static void Decompress(ReadOnlySpan<byte> bytes, Span<byte> dst, int w, int h, YoloCore.Native.TJPF format, bool keepWarned)
    {
        try { YoloCore.Native.TurboJpeg.Decompress(bytes, dst, w, h, format); }
        catch (YoloCore.Native.TurboJpegException e) when (e.IsWarning && keepWarned) { }
    }

    /// OpenCV's CMYK → RGB on libjpeg's samples (as stored, i.e. inverted as Adobe writes them).
    static void CmykToRgb(ReadOnlySpan<byte> cmyk, Span<byte> rgb)
    {
        int n = cmyk.Length / 4;
        for (int i = 0; i < n; i++)
        {
            int k = cmyk[4 * i + 3];
            for (int c = 0; c < 3; c++) rgb[3 * i + c] = (byte)(k - ((255 - cmyk[4 * i + c]) * k >> 8));
        }
    }

    static (byte[] Rgba, int Width, int Height, SKEncodedImageFormat Format, SKCodecResult Result) DecodeRgba(ReadOnlySpan<byte> bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = Open(data);
        var info = codec.Info;
        var target = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[target.BytesSize];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try { return (rgba, info.Width, info.Height, codec.EncodedFormat, codec.GetPixels(target, handle.AddrOfPinnedObject())); }
        finally { handle.Free(); }
    }

    public static bool EndsWithEoi(ReadOnlySpan<byte> jpeg) => jpeg.Length >= 2 && jpeg[^2] == 0xFF && jpeg[^1] == 0xD9;

    /// Reads only the header (no pixel decoding). Throws InvalidDataException for a file that is
    /// not a readable image.
    public static ImageHeader Identify(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0) throw new InvalidDataException("empty file");
        int width, height, orientation;
        string format;
        if (TiffDecoder.IsTiff(bytes))
        {
            (width, height, orientation) = TiffDecoder.Identify(bytes);
            format = "tiff";
        }
        else
        {
            using var data = SKData.CreateCopy(bytes);
            using var codec = Open(data);
            (width, height) = (codec.Info.Width, codec.Info.Height);
            format = FormatName(codec.EncodedFormat);
            orientation = OrientationOf(codec.EncodedFormat, bytes);
        }
        bool swap = orientation is >= 5 and <= 8;
        return new ImageHeader(swap ? height : width, swap ? width : height, format, orientation);
    }

    // The codec takes ownership of the memory stream over data.
    static SKCodec Open(SKData data) =>
        SKCodec.Create(new SKMemoryStream(data), out var result) ?? throw new InvalidDataException(result == SKCodecResult.Unimplemented
            ? "not a recognised image format" : $"cannot read the image header ({result})");

    static string FormatName(SKEncodedImageFormat f) => f.ToString().ToLowerInvariant();

    static int OrientationOf(SKEncodedImageFormat format, ReadOnlySpan<byte> bytes) => format switch
    {
        SKEncodedImageFormat.Jpeg => ExifReader.JpegOrientation(bytes),
        SKEncodedImageFormat.Png => ExifReader.PngOrientation(bytes),
        _ => 1,
    };

    static void DropAlpha(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        int n = rgb.Length / 3;
        for (int i = 0; i < n; i++)
        {
            rgb[3 * i] = rgba[4 * i];
            rgb[3 * i + 1] = rgba[4 * i + 1];
            rgb[3 * i + 2] = rgba[4 * i + 2];
        }
    }
}
