using System.Buffers;

namespace YoloCore.Data;

/// An RGB uint8 image in HWC layout (row-major, 3 bytes per pixel, no row padding): the one image
/// type of the pipeline. Pixel memory comes from the shared array pool because images are large
/// (LOH-sized) and short-lived; Dispose returns it, so an image must have exactly one owner.
public sealed class RgbImage : IDisposable
{
    byte[]? data;

    public int Width { get; }
    public int Height { get; }
    public int Stride => Width * 3;
    public int ByteCount => Width * Height * 3;

    public RgbImage(int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"image size {width}x{height} must be positive");
        Width = width;
        Height = height;
        // 4 spare bytes: SIMD gathers read whole 32-bit words at the last pixel's bytes.
        data = ArrayPool<byte>.Shared.Rent(width * height * 3 + 4);
    }

    public static RgbImage Filled(int width, int height, byte value)
    {
        var im = new RgbImage(width, height);
        im.Pixels.Fill(value);
        return im;
    }

    /// The pixels, Height rows of Width×3 bytes.
    public Span<byte> Pixels => (data ?? throw new ObjectDisposedException(nameof(RgbImage))).AsSpan(0, ByteCount);

    /// The backing array (may be longer than ByteCount) for loops that index it directly.
    internal byte[] Array => data ?? throw new ObjectDisposedException(nameof(RgbImage));

    public Span<byte> Row(int y) => Pixels.Slice(y * Stride, Stride);

    public (byte R, byte G, byte B) this[int x, int y]
    {
        get { int o = (y * Width + x) * 3; var p = Pixels; return (p[o], p[o + 1], p[o + 2]); }
        set { int o = (y * Width + x) * 3; var p = Pixels; p[o] = value.R; p[o + 1] = value.G; p[o + 2] = value.B; }
    }

    public RgbImage Clone()
    {
        var c = new RgbImage(Width, Height);
        Pixels.CopyTo(c.Pixels);
        return c;
    }

    public void Dispose()
    {
        var d = Interlocked.Exchange(ref data, null);
        if (d is not null) ArrayPool<byte>.Shared.Return(d);
    }
}
