using YoloCore.Data;

namespace YoloCore.Data.Tests;

/// Byte-for-byte agreement with OpenCV (the library YOLOv5's pipeline runs on) for every pixel step:
/// expected images come from opencv_golden.py (OpenCV 4.6.0), stored in OpenCvGolden.g.cs.
public class OpenCvGoldenTests
{
    static RgbImage Pattern(int w, int h)
    {
        var im = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    im.Pixels[(y * w + x) * 3 + c] = (byte)((x * x * 7 + y * 13 + c * 59 + x * y * 3) % 256);
        return im;
    }

    static void Same((int W, int H, string Pixels) expected, RgbImage actual)
    {
        Assert.Equal((expected.W, expected.H), (actual.Width, actual.Height));
        var want = Convert.FromBase64String(expected.Pixels);
        int diffs = 0, max = 0;
        for (int i = 0; i < want.Length; i++)
        {
            int d = Math.Abs(want[i] - actual.Pixels[i]);
            if (d > 0) diffs++;
            max = Math.Max(max, d);
        }
        Assert.True(diffs == 0, $"{diffs} of {want.Length} values differ from OpenCV, by up to {max}");
    }

    [Fact]
    public void ResizeLinearUp() { using var s = Pattern(23, 17); using var r = Resize.Bilinear(s, 31, 22); Same(OpenCvGolden.LinearUp, r); }

    [Fact]
    public void ResizeLinearDown() { using var s = Pattern(23, 17); using var r = Resize.Bilinear(s, 11, 8); Same(OpenCvGolden.LinearDown, r); }

    [Fact]
    public void ResizeAreaDown() { using var s = Pattern(23, 17); using var r = Resize.Area(s, 11, 8); Same(OpenCvGolden.AreaDown, r); }

    [Fact]
    public void WarpAffineScaled()
    {
        using var s = Pattern(23, 17);
        using var r = Warp.Apply(s, [0.7, 0, 3.3, 0, 0.7, -1.6, 0, 0, 1], 20, 20);
        Same(OpenCvGolden.AffineScaled, r);
    }

    [Fact]
    public void WarpAffineRotated()
    {
        double a = 15 * Math.PI / 180, k = 1.1;
        using var s = Pattern(23, 17);
        using var r = Warp.Apply(s, [k * Math.Cos(a), k * Math.Sin(a), -2.5, -k * Math.Sin(a), k * Math.Cos(a), 4.25, 0, 0, 1], 20, 20);
        Same(OpenCvGolden.AffineRotated, r);
    }

    [Fact]
    public void WarpPerspective()
    {
        using var s = Pattern(23, 17);
        using var r = Warp.Apply(s, [1, 0.05, 1.5, 0.02, 1, 0.5, 0.002, 0.001, 1], 20, 20);
        Same(OpenCvGolden.Perspective, r);
    }

    [Fact]
    public void AugmentHsv() { using var s = Pattern(23, 17); HsvAugment.ApplyGains(s, 1.012, 0.55, 1.3); Same(OpenCvGolden.Hsv, s); }

    [Fact]
    public void LetterboxTo32() { using var s = Pattern(23, 17); using var r = Letterbox.Apply(s, 32, 32, out _); Same(OpenCvGolden.Letterbox, r); }
}
