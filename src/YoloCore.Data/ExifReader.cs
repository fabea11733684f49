using System.Buffers.Binary;

namespace YoloCore.Data;

/// The EXIF orientation (tag 0x0112 of the first IFD, 1..8; 1 when absent or unreadable) of a JPEG
/// (APP1 "Exif") or a PNG (eXIf chunk): the two formats whose orientation OpenCV's imread applies.
public static class ExifReader
{
    public static int JpegOrientation(ReadOnlySpan<byte> jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return 1;
        int p = 2;
        while (p + 4 <= jpeg.Length && jpeg[p] == 0xFF)
        {
            byte marker = jpeg[p + 1];
            if (marker == 0xD8 || marker is >= 0xD0 and <= 0xD7 || marker == 0x01) { p += 2; continue; }
            if (marker == 0xDA || marker == 0xD9) break; // image data: no metadata after it
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(p + 2)..]);
            if (length < 2 || p + 2 + length > jpeg.Length) break;
            var segment = jpeg.Slice(p + 4, length - 2);
            if (marker == 0xE1 && segment.Length > 6 && segment[..6].SequenceEqual("Exif\0\0"u8)) return Orientation(segment[6..]);
            p += 2 + length;
        }
        return 1;
    }

    public static int PngOrientation(ReadOnlySpan<byte> png)
    {
        int p = 8;
        while (p + 12 <= png.Length)
        {
            int length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(png[p..]), int.MaxValue);
            var type = png.Slice(p + 4, 4);
            if (p + 12L + length > png.Length) break;
            if (type.SequenceEqual("eXIf"u8)) return Orientation(png.Slice(p + 8, length));
            if (type.SequenceEqual("IDAT"u8) || type.SequenceEqual("IEND"u8)) break;
            p += 12 + length;
        }
        return 1;
    }

    /// Tag 0x0112 of IFD0 in a TIFF-structured EXIF block.
    static int Orientation(ReadOnlySpan<byte> tiff)
    {
        try
        {
            var ifd = TiffIfd.First(tiff);
            int o = (int)ifd.Value(tiff, 0x0112, 1);
            return o is >= 1 and <= 8 ? o : 1;
        }
        catch (InvalidDataException) { return 1; }
    }
}
