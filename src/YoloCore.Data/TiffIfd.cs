using System.Buffers.Binary;

namespace YoloCore.Data;

/// The first image file directory of a TIFF-structured block (a TIFF file, or the payload of an
/// EXIF segment): tag → (type, count, value or offset). Values are read on demand from the block.
internal sealed class TiffIfd
{
    readonly Dictionary<int, (int Type, long Count, int ValuePos)> entries = [];
    public bool LittleEndian { get; }

    TiffIfd(bool littleEndian) => LittleEndian = littleEndian;

    public static bool HasTiffHeader(ReadOnlySpan<byte> b) =>
        b.Length >= 8 && (b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0 || b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42);

    public static TiffIfd First(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 4 && (b[0] == 'I' && b[2] == 43 || b[0] == 'M' && b[3] == 43)) throw new InvalidDataException("BigTIFF is not supported");
        if (!HasTiffHeader(b)) throw new InvalidDataException("not a TIFF header");
        var ifd = new TiffIfd(b[0] == 'I');
        long offset = ifd.U32(b, 4);
        if (offset < 8 || offset + 2 > b.Length) throw new InvalidDataException("TIFF directory offset outside the file");
        int n = ifd.U16(b, (int)offset);
        if (offset + 2 + 12L * n > b.Length) throw new InvalidDataException("TIFF directory runs past the end of the file");
        for (int i = 0; i < n; i++)
        {
            int e = (int)offset + 2 + 12 * i;
            int tag = ifd.U16(b, e), type = ifd.U16(b, e + 2);
            long count = ifd.U32(b, e + 4);
            long bytes = count * TypeSize(type);
            int valuePos = bytes <= 4 ? e + 8 : (int)Math.Min(int.MaxValue, ifd.U32(b, e + 8));
            if (TypeSize(type) == 0 || valuePos + bytes > b.Length) continue; // unknown type or out of range: as if absent
            ifd.entries[tag] = (type, count, valuePos);
        }
        return ifd;
    }

    static int TypeSize(int type) => type switch { 1 or 2 or 6 or 7 => 1, 3 or 8 => 2, 4 or 9 or 11 => 4, 5 or 10 or 12 => 8, _ => 0 };

    public bool Has(int tag) => entries.ContainsKey(tag);

    /// Every value of an integer tag (BYTE, SHORT, LONG); empty when absent.
    public long[] Values(ReadOnlySpan<byte> b, int tag)
    {
        if (!entries.TryGetValue(tag, out var e)) return [];
        var v = new long[e.Count];
        for (int i = 0; i < v.Length; i++)
            v[i] = e.Type switch
            {
                1 or 7 => b[e.ValuePos + i],
                3 => U16(b, e.ValuePos + 2 * i),
                4 => U32(b, e.ValuePos + 4 * i),
                _ => throw new InvalidDataException($"TIFF tag {tag} has type {e.Type}, not an integer"),
            };
        return v;
    }

    public long Value(ReadOnlySpan<byte> b, int tag, long fallback) => Values(b, tag) is { Length: > 0 } v ? v[0] : fallback;

    public int U16(ReadOnlySpan<byte> b, int at) => LittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt16BigEndian(b[at..]);
    public long U32(ReadOnlySpan<byte> b, int at) => LittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt32BigEndian(b[at..]);
}
