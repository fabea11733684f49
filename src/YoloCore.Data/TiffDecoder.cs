using System.IO.Compression;

namespace YoloCore.Data;

/// Baseline TIFF (the first image of the file) read to RGB as OpenCV's imread gives it through
/// libtiff's RGBA interface: strips or tiles, chunky or planar, uncompressed, LZW, Deflate or
/// PackBits, horizontal predictor; 8- or 16-bit grey, grey + alpha, palette, RGB or RGBA.
/// libtiff's rules, checked against OpenCV 4.6: 16-bit samples scale to 8 bits by rounding
/// (v·255/65535), unassociated alpha is premultiplied into the colour ((c·a + 127) / 255) before
/// it is dropped, a 16-bit colour map keeps its high byte (unless every entry is below 256: an 8-bit map),
/// and the orientation tag is applied.
public static class TiffDecoder
{
    const int ImageWidth = 256, ImageLength = 257, BitsPerSample = 258, Compression = 259, Photometric = 262,
        StripOffsets = 273, Orientation = 274, SamplesPerPixel = 277, RowsPerStrip = 278, StripByteCounts = 279,
        PlanarConfiguration = 284, Predictor = 317, ColorMap = 320, TileWidth = 322, TileLength = 323,
        TileOffsets = 324, TileByteCounts = 325, ExtraSamples = 338, SampleFormat = 339;

    /// A TIFF or BigTIFF header (BigTIFF is then refused with a message).
    public static bool IsTiff(ReadOnlySpan<byte> b) =>
        TiffIfd.HasTiffHeader(b) || b.Length >= 4 && (b[0] == 'I' && b[1] == 'I' && b[2] == 43 && b[3] == 0 || b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 43);

    /// Width, height (as stored) and orientation (1..8).
    public static (int Width, int Height, int Orientation) Identify(ReadOnlySpan<byte> bytes)
    {
        var ifd = TiffIfd.First(bytes);
        int w = (int)ifd.Value(bytes, ImageWidth, 0), h = (int)ifd.Value(bytes, ImageLength, 0);
        if (w <= 0 || h <= 0) throw new InvalidDataException($"TIFF size {w}x{h} is not valid");
        int o = (int)ifd.Value(bytes, Orientation, 1);
        return (w, h, o is >= 1 and <= 8 ? o : 1);
    }

    public static RgbImage Decode(ReadOnlySpan<byte> bytes)
    {
        var ifd = TiffIfd.First(bytes);
        var (w, h, orientation) = Identify(bytes);
        int spp = (int)ifd.Value(bytes, SamplesPerPixel, 1);
        var bpsAll = ifd.Values(bytes, BitsPerSample);
        int bps = bpsAll.Length > 0 ? (int)bpsAll[0] : 1;
        int compression = (int)ifd.Value(bytes, Compression, 1), photometric = (int)ifd.Value(bytes, Photometric, spp >= 3 ? 2 : 1);
        int planar = (int)ifd.Value(bytes, PlanarConfiguration, 1), predictor = (int)ifd.Value(bytes, Predictor, 1);
        if (bps is not (8 or 16) || bpsAll.Any(b => b != bps)) throw new InvalidDataException($"TIFF with {string.Join("/", bpsAll)} bits per sample is not supported (8 or 16)");
        if (ifd.Value(bytes, SampleFormat, 1) != 1) throw new InvalidDataException("TIFF with signed or floating-point samples is not supported");
        if (photometric is not (0 or 1 or 2 or 3)) throw new InvalidDataException($"TIFF photometric interpretation {photometric} is not supported (grey, RGB or palette)");
        int colour = photometric == 2 ? 3 : 1;
        if (spp < colour || spp > colour + 1) throw new InvalidDataException($"TIFF with {spp} samples per pixel for photometric {photometric} is not supported");
        bool alpha = spp == colour + 1;
        bool unassociated = alpha && ifd.Value(bytes, ExtraSamples, 0) != 1; // 1 = associated (premultiplied) already

        int bytesPerSample = bps / 8;
        var samples = new byte[(long)w * h * spp * bytesPerSample];
        ReadChunks(bytes, ifd, w, h, spp, bytesPerSample, planar, compression, predictor, samples);

        var rgb = new RgbImage(w, h);
        var px = rgb.Pixels;
        var map = photometric == 3 ? ColourMap(bytes, ifd, bps) : null;
        for (int i = 0, n = w * h; i < n; i++)
        {
            int Raw(int c) => bytesPerSample == 1 ? samples[i * spp + c]
                : ifd.LittleEndian ? samples[2 * (i * spp + c)] | samples[2 * (i * spp + c) + 1] << 8
                : samples[2 * (i * spp + c)] << 8 | samples[2 * (i * spp + c) + 1];
            int S(int c) => bytesPerSample == 1 ? Raw(c) : Scale16(Raw(c));
            int r, g, b;
            if (map is not null)
            {
                int index = Raw(0);
                (r, g, b) = index < map.Length / 3 ? (map[3 * index], map[3 * index + 1], map[3 * index + 2]) : (0, 0, 0);
            }
            else if (colour == 3) (r, g, b) = (S(0), S(1), S(2));
            else
            {
                int v = photometric == 0 ? 255 - S(0) : S(0);
                (r, g, b) = (v, v, v);
            }
            if (unassociated)
            {
                int a = S(colour);
                (r, g, b) = ((r * a + 127) / 255, (g * a + 127) / 255, (b * a + 127) / 255);
            }
            px[3 * i] = (byte)r;
            px[3 * i + 1] = (byte)g;
            px[3 * i + 2] = (byte)b;
        }
        if (orientation <= 1) return rgb;
        var oriented = ExifOrientation.Apply(rgb, orientation);
        rgb.Dispose();
        return oriented;
    }

    static int Scale16(int v) => (v * 255 + 32767) / 65535;

    /// The colour map as 8-bit RGB triples.
    static byte[] ColourMap(ReadOnlySpan<byte> bytes, TiffIfd ifd, int bps)
    {
        var v = ifd.Values(bytes, ColorMap);
        int n = 1 << bps;
        if (v.Length < 3 * n) throw new InvalidDataException($"TIFF palette image has a colour map of {v.Length} values, not {3 * n}");
        bool eightBit = v.Take(3 * n).All(x => x < 256); // old writers stored 8-bit maps
        var map = new byte[3 * n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                map[3 * i + c] = (byte)(eightBit ? v[c * n + i] : v[c * n + i] >> 8);
        return map;
    }

    /// Decompresses every strip or tile into samples (row-major, chunky: w × h × spp samples).
    static void ReadChunks(ReadOnlySpan<byte> bytes, TiffIfd ifd, int w, int h, int spp, int bytesPerSample, int planar,
        int compression, int predictor, byte[] samples)
    {
        bool tiled = ifd.Has(TileOffsets);
        int cw = tiled ? (int)ifd.Value(bytes, TileWidth, 0) : w;
        int ch = tiled ? (int)ifd.Value(bytes, TileLength, 0) : (int)Math.Min(h, ifd.Value(bytes, RowsPerStrip, h));
        if (cw <= 0 || ch <= 0) throw new InvalidDataException("TIFF tile or strip size is not valid");
        var offsets = ifd.Values(bytes, tiled ? TileOffsets : StripOffsets);
        var counts = ifd.Values(bytes, tiled ? TileByteCounts : StripByteCounts);
        int across = (w + cw - 1) / cw, down = (h + ch - 1) / ch, planes = planar == 2 ? spp : 1;
        int chunkSpp = planar == 2 ? 1 : spp;
        if (offsets.Length < across * down * planes || counts.Length < offsets.Length)
            throw new InvalidDataException($"TIFF lists {offsets.Length} {(tiled ? "tiles" : "strips")}, {across * down * planes} needed");
        int rowBytes = cw * chunkSpp * bytesPerSample;
        var chunk = new byte[rowBytes * ch];
        for (int plane = 0; plane < planes; plane++)
            for (int ty = 0; ty < down; ty++)
                for (int tx = 0; tx < across; tx++)
                {
                    int k = (plane * down + ty) * across + tx;
                    long start = offsets[k], length = counts[k];
                    if (start < 0 || start + length > bytes.Length) throw new InvalidDataException($"TIFF {(tiled ? "tile" : "strip")} {k} lies outside the file");
                    Array.Clear(chunk);
                    int rows = tiled ? ch : Math.Min(ch, h - ty * ch); // the last strip may be short
                    Decompress(bytes.Slice((int)start, (int)length), compression, chunk.AsSpan(0, rowBytes * rows));
                    if (predictor == 2) UndoPredictor(chunk, rowBytes, rows, chunkSpp, bytesPerSample, ifd.LittleEndian);
                    else if (predictor != 1) throw new InvalidDataException($"TIFF predictor {predictor} is not supported");
                    for (int y = 0; y < rows; y++)
                    {
                        int iy = ty * ch + y;
                        if (iy >= h) break;
                        for (int x = 0; x < cw; x++)
                        {
                            int ix = tx * cw + x;
                            if (ix >= w) break;
                            for (int s = 0; s < chunkSpp; s++)
                            {
                                int dst = ((iy * w + ix) * spp + (planar == 2 ? plane : s)) * bytesPerSample;
                                int src = (y * cw + x) * chunkSpp * bytesPerSample + s * bytesPerSample;
                                for (int b = 0; b < bytesPerSample; b++) samples[dst + b] = chunk[src + b];
                            }
                        }
                    }
                }
    }

    static void Decompress(ReadOnlySpan<byte> src, int compression, Span<byte> dst)
    {
        switch (compression)
        {
            case 1: src[..Math.Min(src.Length, dst.Length)].CopyTo(dst); break;
            case 5: Lzw(src, dst); break;
            case 8 or 32946:
                using (var z = new ZLibStream(new MemoryStream(src.ToArray()), CompressionMode.Decompress))
                {
                    int got = 0, n;
                    try { while (got < dst.Length && (n = z.Read(dst[got..])) > 0) got += n; }
                    catch (InvalidDataException e) { throw new InvalidDataException($"TIFF Deflate data is damaged ({e.Message})"); }
                }
                break;
            case 32773: PackBits(src, dst); break;
            default: throw new InvalidDataException($"TIFF compression {compression} is not supported (none, LZW, Deflate, PackBits)");
        }
    }

    static void PackBits(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int i = 0, o = 0;
        while (i < src.Length && o < dst.Length)
        {
            int n = (sbyte)src[i++];
            if (n >= 0)
            {
                int count = Math.Min(n + 1, Math.Min(src.Length - i, dst.Length - o));
                src.Slice(i, count).CopyTo(dst[o..]);
                i += n + 1;
                o += count;
            }
            else if (n != -128 && i < src.Length)
            {
                int count = Math.Min(1 - n, dst.Length - o);
                dst.Slice(o, count).Fill(src[i++]);
                o += count;
            }
        }
    }

    /// TIFF's LZW: codes MSB first, 9 to 12 bits, 256 = clear, 257 = end, the code width growing one
    /// code early (the "early change" every TIFF writer uses).
    static void Lzw(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        var prefix = new int[4096];
        var suffix = new byte[4096];
        var length = new int[4096];
        for (int i = 0; i < 256; i++) { prefix[i] = -1; suffix[i] = (byte)i; length[i] = 1; }
        int next = 258, width = 9, previous = -1, o = 0;
        long bitPos = 0, bits = src.Length * 8L;
        Span<byte> stack = stackalloc byte[4096];
        while (bitPos + width <= bits && o < dst.Length)
        {
            int code = 0;
            for (int b = 0; b < width; b++, bitPos++) code = code << 1 | (src[(int)(bitPos >> 3)] >> (7 - (int)(bitPos & 7)) & 1);
            if (code == 257) break;
            if (code == 256) { next = 258; width = 9; previous = -1; continue; }
            int emit;
            if (previous < 0)
            {
                if (code > 255) throw new InvalidDataException("TIFF LZW data is damaged");
                emit = code;
            }
            else if (code < next)
            {
                emit = code;
                if (next < 4096) Add(previous, First(code));
            }
            else if (code == next)
            {
                if (next < 4096) Add(previous, First(previous));
                emit = code;
            }
            else throw new InvalidDataException("TIFF LZW data is damaged");
            int len = length[emit];
            for (int c = emit, k = len - 1; c >= 0; c = prefix[c], k--) stack[k] = suffix[c];
            int copy = Math.Min(len, dst.Length - o);
            stack[..copy].CopyTo(dst[o..]);
            o += copy;
            previous = emit;
            if (next + 1 >= (1 << width) && width < 12) width++;
        }

        byte First(int c)
        {
            while (prefix[c] >= 0) c = prefix[c];
            return suffix[c];
        }
        void Add(int p, byte s)
        {
            prefix[next] = p;
            suffix[next] = s;
            length[next] = length[p] + 1;
            next++;
        }
    }

    static void UndoPredictor(byte[] chunk, int rowBytes, int rows, int spp, int bytesPerSample, bool littleEndian)
    {
        for (int y = 0; y < rows; y++)
        {
            int row = y * rowBytes;
            if (bytesPerSample == 1)
                for (int i = row + spp; i < row + rowBytes; i++) chunk[i] += chunk[i - spp];
            else
                for (int i = row + 2 * spp; i + 1 < row + rowBytes; i += 2)
                {
                    int Read(int at) => littleEndian ? chunk[at] | chunk[at + 1] << 8 : chunk[at] << 8 | chunk[at + 1];
                    int v = (Read(i) + Read(i - 2 * spp)) & 0xFFFF;
                    if (littleEndian) { chunk[i] = (byte)v; chunk[i + 1] = (byte)(v >> 8); }
                    else { chunk[i] = (byte)(v >> 8); chunk[i + 1] = (byte)v; }
                }
        }
    }
}
