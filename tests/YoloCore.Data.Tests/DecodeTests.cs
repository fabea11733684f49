using System.Security.Cryptography;
using System.Text.Json;
using YoloCore.Data;

namespace YoloCore.Data.Tests;

/// Decoding gives OpenCV's pixels (cv2.imread(path, IMREAD_COLOR), as RGB) bit for bit: the
/// fixtures in decode/ and every coco128 image, against opencv_decode.json (decode_golden.py).
public class DecodeTests
{
    static readonly JsonElement golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "opencv_decode.json"))).RootElement;

    public static TheoryData<string> Fixtures() => new(golden.GetProperty("fixtures").EnumerateObject().Select(p => p.Name));

    /// JPEGs through SkiaSharp's libjpeg-turbo (the path without the system's TurboJPEG). CMYK is
    /// left out: Skia turns CMYK into RGB inside its codec with its own rounding (off by one in
    /// most pixels) and cannot hand out the samples that OpenCV's formula needs.
    public static TheoryData<string> SkiaJpegs() => new(golden.GetProperty("fixtures").EnumerateObject().Select(p => p.Name)
        .Where(n => n.EndsWith(".jpg") && n != "cmyk.jpg"));

    static void SameAsOpenCv(string path, JsonElement expected)
    {
        using var im = ImageDecoder.Decode(path);
        var header = ImageDecoder.Identify(path);
        int w = expected.GetProperty("width").GetInt32(), h = expected.GetProperty("height").GetInt32();
        Assert.True((w, h) == (im.Width, im.Height), $"{Path.GetFileName(path)}: OpenCV {w}x{h}, decoded {im.Width}x{im.Height}");
        Assert.Equal((w, h), (header.Width, header.Height));
        string sha = Convert.ToHexStringLower(SHA256.HashData(im.Pixels));
        Assert.True(sha == expected.GetProperty("sha256").GetString(), $"{Path.GetFileName(path)}: pixels differ from OpenCV's");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void EveryFormatDecodesToOpenCvsPixels(string name) =>
        SameAsOpenCv(Path.Combine(TestFiles.DecodeFixtures, name), golden.GetProperty("fixtures").GetProperty(name));

    [Theory]
    [MemberData(nameof(SkiaJpegs))]
    public void JpegsDecodeToOpenCvsPixelsWithoutTurboJpegToo(string name)
    {
        bool turbo = ImageDecoder.UseTurboJpeg;
        ImageDecoder.UseTurboJpeg = false;
        try { SameAsOpenCv(Path.Combine(TestFiles.DecodeFixtures, name), golden.GetProperty("fixtures").GetProperty(name)); }
        finally { ImageDecoder.UseTurboJpeg = turbo; }
    }

    /// The JPEG fast path is there: CI installs libturbojpeg0 (.ci/run); without it JPEGs decode
    /// through SkiaSharp at about half the speed, and CMYK JPEGs off by one.
    [Fact]
    public void TheTurboJpegPathIsUsedWhereTheLibraryIsInstalled()
    {
        if (Environment.GetEnvironmentVariable("CI") != "true" && !YoloCore.Native.TurboJpeg.IsAvailable) return;
        Assert.True(ImageDecoder.UseTurboJpeg, "libturbojpeg did not load: " +
            (YoloCore.Native.NativeLibraries.TryProbe(YoloCore.Native.NativeLib.TurboJpeg, out _, out var error) ? "" : error));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryCoco128ImageDecodesToOpenCvsPixels(bool turboJpeg)
    {
        if (turboJpeg && !YoloCore.Native.TurboJpeg.IsAvailable) return; // the test above says why
        bool saved = ImageDecoder.UseTurboJpeg;
        ImageDecoder.UseTurboJpeg = turboJpeg;
        try { Coco128SameAsOpenCv(); }
        finally { ImageDecoder.UseTurboJpeg = saved; }
    }

    static void Coco128SameAsOpenCv()
    {
        string dir = Path.Combine(TestFiles.DatasetsDir, "coco128", "images", "train2017");
        var expected = golden.GetProperty("coco128").EnumerateObject().ToList();
        Assert.Equal(128, expected.Count);
        var wrong = expected.Where(e =>
        {
            using var im = ImageDecoder.Decode(Path.Combine(dir, e.Name));
            return (im.Width, im.Height) != (e.Value.GetProperty("width").GetInt32(), e.Value.GetProperty("height").GetInt32())
                || Convert.ToHexStringLower(SHA256.HashData(im.Pixels)) != e.Value.GetProperty("sha256").GetString();
        }).Select(e => e.Name).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of 128 differ from OpenCV: {string.Join(", ", wrong.Take(10))}");
    }

    [Fact]
    public void PngRoundTripsExactly()
    {
        using var dir = new TempDir();
        using var im = RgbImage.Filled(37, 23, 0);
        TestFiles.Fill(im, 0, 0, 4, 2, (255, 0, 0));
        TestFiles.Fill(im, 35, 20, 37, 23, (0, 0, 255));
        TestFiles.Save(im, dir["x.png"]);
        using var back = ImageDecoder.Decode(dir["x.png"]);
        Assert.True(im.Pixels.SequenceEqual(back.Pixels));
        Assert.Equal(("png", 37, 23, 1), (ImageDecoder.Identify(dir["x.png"]).Format, back.Width, back.Height, ImageDecoder.Identify(dir["x.png"]).Orientation));
    }

    [Fact]
    public void EmptyGarbageAndCutFilesThrowInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(ReadOnlySpan<byte>.Empty));
        using var dir = new TempDir();
        File.WriteAllText(dir["x.png"], "nope");
        Assert.Throws<InvalidDataException>(() => ImageDecoder.Identify(dir["x.png"]));
        Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(dir["x.png"]));
        // A TIFF cut in its directory, and one whose strip lies past the end.
        var tiff = File.ReadAllBytes(Path.Combine(TestFiles.DecodeFixtures, "lzw.tif"));
        Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(tiff.AsSpan(0, 12)));
        Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(tiff.AsSpan(0, tiff.Length / 2)));
    }
}
