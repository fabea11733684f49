using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using YoloCore.Data;

namespace YoloCore.Data.Tests;

public class DecodeTests
{
    static RgbImage Pattern(int w, int h)
    {
        var im = RgbImage.Filled(w, h, 0);
        TestFiles.Fill(im, 0, 0, 4, 2, (255, 0, 0));      // red block at the top-left corner
        TestFiles.Fill(im, w - 2, h - 3, w, h, (0, 0, 255)); // blue block at the bottom-right
        return im;
    }

    [Theory]
    [InlineData(ImageFormatKind.Png)]
    [InlineData(ImageFormatKind.Bmp)]
    public void LosslessFormatsRoundTripExactly(ImageFormatKind kind)
    {
        using var dir = new TempDir();
        using var im = Pattern(37, 23);
        TestFiles.Save(im, dir["x." + kind.ToString().ToLowerInvariant()], kind);
        using var back = ImageDecoder.Decode(dir["x." + kind.ToString().ToLowerInvariant()]);
        Assert.Equal((37, 23), (back.Width, back.Height));
        Assert.True(im.Pixels.SequenceEqual(back.Pixels));
    }

    [Fact]
    public void JpegDecodesCloseToTheOriginal()
    {
        using var dir = new TempDir();
        using var im = RgbImage.Filled(40, 30, 0);
        TestFiles.Fill(im, 0, 0, 20, 30, (200, 40, 40));
        TestFiles.Save(im, dir["x.jpg"], ImageFormatKind.Jpeg);
        using var back = ImageDecoder.Decode(dir["x.jpg"]);
        var (r, g, b) = back[5, 15];
        Assert.InRange(r, 185, 215);
        Assert.InRange(g, 25, 55);
        Assert.Equal(("jpeg", 40, 30), (ImageDecoder.Identify(dir["x.jpg"]).Format, back.Width, back.Height));
    }

    [Theory]
    [InlineData(1, 37, 23, 0, 0)]     // as stored: red at top-left
    [InlineData(3, 37, 23, 36, 22)]   // rotated 180: red at bottom-right
    [InlineData(6, 23, 37, 22, 0)]    // rotate 90 clockwise: red at top-right
    [InlineData(8, 23, 37, 0, 36)]    // rotate 90 counter-clockwise: red at bottom-left
    [InlineData(2, 37, 23, 36, 0)]    // mirrored: red at top-right
    public void ExifOrientationIsApplied(int orientation, int w, int h, int redX, int redY)
    {
        using var dir = new TempDir();
        using var im = Pattern(37, 23);
        TestFiles.Save(im, dir["x.jpg"], ImageFormatKind.Jpeg, image =>
        {
            image.Metadata.ExifProfile = new ExifProfile();
            image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)orientation);
        });
        var header = ImageDecoder.Identify(dir["x.jpg"]);
        Assert.Equal((w, h, orientation), (header.Width, header.Height, header.Orientation));
        using var back = ImageDecoder.Decode(dir["x.jpg"]);
        Assert.Equal((w, h), (back.Width, back.Height));
        Assert.True(back[redX, redY].R > 180 && back[redX, redY].B < 80, $"pixel ({redX},{redY}) = {back[redX, redY]}");
    }

    [Fact]
    public void EmptyAndGarbageInputThrowInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(ReadOnlySpan<byte>.Empty));
        using var dir = new TempDir();
        File.WriteAllText(dir["x.png"], "nope");
        Assert.Throws<InvalidDataException>(() => ImageDecoder.Identify(dir["x.png"]));
    }
}
