using YoloCore.Data;

namespace YoloCore.Data.Tests;

public class LetterboxTests
{
    [Fact]
    public void MatchesYoloV5Arithmetic()
    {
        // 500x375 into 640x640: r = 1.28, content 640x480, dh = 80 each side.
        using var im = RgbImage.Filled(500, 375, 10);
        using var out1 = Letterbox.Apply(im, 640, 640, out var a);
        Assert.Equal((640, 640, 0, 80), (out1.Width, out1.Height, a.PadLeft, a.PadTop));
        Assert.Equal(1.28, a.GainX, 12);
        Assert.Equal((114, 114, 114), ((int)out1[0, 0].R, (int)out1[0, 0].G, (int)out1[0, 0].B));
        Assert.Equal(10, out1[0, 80].R);
        Assert.Equal(114, out1[0, 79].R);
        // An odd remainder puts the extra pixel bottom/right: 3 px → top 1, bottom 2 (round(1.4), round(1.6)).
        using var im2 = RgbImage.Filled(100, 61, 10);
        using var out2 = Letterbox.Apply(im2, 64, 100, out var b, scaleUp: false);
        Assert.Equal((1, 0, 64), (b.PadTop, b.PadLeft, out2.Height));
        Assert.Equal(114, out2[50, 0].R);
        Assert.Equal(10, out2[50, 1].R);
        Assert.Equal(10, out2[50, 61].R);
        Assert.Equal(114, out2[50, 62].R);
        // No scale-up for validation: a small image keeps its size.
        using var im3 = RgbImage.Filled(50, 40, 10);
        using var out3 = Letterbox.Apply(im3, 64, 64, out var c, scaleUp: false);
        Assert.Equal((1.0, 7, 12), (c.GainX, c.PadLeft, c.PadTop));
        // auto: padding reduced modulo the stride.
        using var out4 = Letterbox.Apply(im, 640, 640, out var d, auto: true);
        Assert.Equal((640, 480, 0), (out4.Width, out4.Height, d.PadTop));
    }

    /// The edge position of a dark box on a white background along a row or column, from where the
    /// intensity crosses half way (sub-pixel, in continuous pixel coordinates).
    static double Edge(RgbImage im, bool horizontal, int fixedCoord, int from, int step)
    {
        double A(int i) => 1 - (horizontal ? im[i, fixedCoord].R : im[fixedCoord, i].R) / 255.0;
        int n = horizontal ? im.Width : im.Height;
        for (int i = from; i >= 0 && i < n; i += step)
        {
            int j = i + step;
            if (j < 0 || j >= n) break;
            if (A(i) < 0.5 && A(j) >= 0.5)
            {
                double t = i + step * (0.5 - A(i)) / (A(j) - A(i));
                return t + 0.5;
            }
        }
        throw new InvalidOperationException("edge not found");
    }

    static void CheckInverse(RgbImage letterboxed, LetterboxInfo info, (int X1, int Y1, int X2, int Y2) box)
    {
        var (cx, cy) = info.ToLetterbox((box.X1 + box.X2) / 2.0, (box.Y1 + box.Y2) / 2.0);
        int row = (int)cy, col = (int)cx;
        double left = Edge(letterboxed, true, row, info.PadLeft + 1, 1);
        double right = Edge(letterboxed, true, row, letterboxed.Width - info.PadLeft - 2, -1);
        double top = Edge(letterboxed, false, col, info.PadTop + 1, 1);
        double bottom = Edge(letterboxed, false, col, letterboxed.Height - info.PadTop - 2, -1);
        var (x1, y1, x2, y2) = info.BoxToOriginal(left, top, right, bottom);
        Assert.True(Math.Abs(x1 - box.X1) <= 0.5 && Math.Abs(y1 - box.Y1) <= 0.5 && Math.Abs(x2 - box.X2) <= 0.5 && Math.Abs(y2 - box.Y2) <= 0.5,
            $"box {box} came back as ({x1:F2}, {y1:F2}, {x2:F2}, {y2:F2})");
    }

    [Theory]
    [InlineData(500, 375, 640, 640, true)]    // enlarge
    [InlineData(333, 517, 320, 320, false)]   // shrink, odd sizes
    [InlineData(640, 427, 448, 672, false)]   // shrink into a rect shape
    public void InverseMapsBoxesBackWithinHalfAPixel(int w, int h, int outH, int outW, bool scaleUp)
    {
        using var im = RgbImage.Filled(w, h, 255);
        var box = (w / 5 + 1, h / 4 + 3, w * 3 / 4 - 2, h * 2 / 3 + 1);
        TestFiles.Fill(im, box.Item1, box.Item2, box.Item3, box.Item4, (0, 0, 0));
        using var lb = Letterbox.Apply(im, outH, outW, out var info, scaleUp: scaleUp);
        // Pad with white for edge finding: grey 114 would read as a half-dark edge.
        CheckInverse(lb, info, box);
    }

    [Fact]
    public void ValidationSamplesCarryTheirLetterboxAndMapBack()
    {
        using var dir = new TempDir();
        // 1000x600 is shrunk by load_image (area) to 640x384, then letterboxed into its rect shape.
        using var im = RgbImage.Filled(1000, 600, 255);
        var box = (211, 137, 702, 455);
        TestFiles.Fill(im, box.Item1, box.Item2, box.Item3, box.Item4, (0, 0, 0));
        TestFiles.Save(im, dir["images/val/a.png"]);
        TestFiles.WriteLabel(dir.Path, "val", "a", TestFiles.LabelLine(0, box.Item1, box.Item2, box.Item3, box.Item4, 1000, 600));
        using var ds = YoloDataset.Open([dir["images/val"]], 1, DatasetOptions.Validation(640, batchSize: 1));
        Assert.Equal((416, 672), ds.BatchShapes![0]);   // ceil(0.6·20 + 0.5)·32, ceil(20 + 0.5)·32
        using var s = ds.GetItem(0, new Rng(0));
        var info = s.Letterbox!.Value;
        Assert.Equal((1000, 600, 16, 16), (info.OriginalWidth, info.OriginalHeight, info.PadLeft, info.PadTop));
        Assert.Equal(0.64, info.GainX, 12);
        CheckInverseOnWhite(s.Image, info, box);
        // The label maps to the same place as the pixels.
        var l = s.Labels;
        var (x1, y1, x2, y2) = info.BoxToOriginal((l[1] - l[3] / 2) * 672, (l[2] - l[4] / 2) * 416, (l[1] + l[3] / 2) * 672, (l[2] + l[4] / 2) * 416);
        Assert.Equal(box.Item1, x1, 0.01); Assert.Equal(box.Item2, y1, 0.01); Assert.Equal(box.Item3, x2, 0.01); Assert.Equal(box.Item4, y2, 0.01);
    }

    static void CheckInverseOnWhite(RgbImage im, LetterboxInfo info, (int, int, int, int) box) => CheckInverse(im, info, box);

    [Fact]
    public void RectBatchShapesFollowYoloV5()
    {
        // Wide batch (h/w = 0.75): (ceil(0.75·20 + 0.5), ceil(20 + 0.5))·32 = (512, 672).
        var wide = RectBatchShapes.Compute([(640, 480), (640, 480)], 2, 640, 32, 0.5);
        Assert.Equal((512, 672), wide[0]);
        // Tall batch (h/w = 1.5 → w = 1/1.5): (ceil(20.5), ceil(13.33 + 0.5))·32 = (672, 448).
        var tall = RectBatchShapes.Compute([(400, 600)], 1, 640, 32, 0.5);
        Assert.Equal((672, 448), tall[0]);
        // Mixed batch: square. Without pad: exactly img_size.
        var mixed = RectBatchShapes.Compute([(400, 600), (600, 400)], 2, 640, 32, 0);
        Assert.Equal((640, 640), mixed[0]);
        // Sorting by aspect ratio, stable.
        Assert.Equal([1, 2, 0], RectBatchShapes.SortOrder([(100, 200), (200, 100), (100, 100)]));
    }

    [Fact]
    public void ResizeMatchesOpenCvOnKnownValues()
    {
        // 4x1 → 2x1 INTER_LINEAR samples at 0.5 and 2.5: (0+10)/2, (20+30)/2.
        using var im = new RgbImage(4, 1);
        byte[] v = [0, 10, 20, 30];
        for (int x = 0; x < 4; x++) im[x, 0] = (v[x], v[x], v[x]);
        using var lin = Resize.Bilinear(im, 2, 1);
        Assert.Equal((5, 25), ((int)lin[0, 0].R, (int)lin[1, 0].R));
        // INTER_AREA 4 → 3: footprints of 4/3 px: (0 + 10/3)/(4/3) = 2.5, (2/3·10 + 2/3·20)/(4/3) = 15, 27.5,
        // rounded half to even like cvRound.
        using var area = Resize.Area(im, 3, 1);
        Assert.Equal((2, 15, 28), ((int)area[0, 0].R, (int)area[1, 0].R, (int)area[2, 0].R));
        // Enlarging 2 → 4 replicates the edges: 0, 2.5, 7.5, 10 for (0, 10).
        using var two = new RgbImage(2, 1);
        two[0, 0] = (0, 0, 0); two[1, 0] = (10, 10, 10);
        using var up = Resize.Bilinear(two, 4, 1);
        Assert.Equal((0, 3, 8, 10), ((int)up[0, 0].R, (int)up[1, 0].R, (int)up[2, 0].R, (int)up[3, 0].R));
    }
}
