using YoloCore.Data;

namespace YoloCore.Data.Tests;

/// Boxes painted in unique colours: after mosaic, random perspective and flips every kept label must
/// still enclose the pixels of its colour (within 2 px), and for axis-aligned transforms fit them.
public class GeometryTests
{
    // 26 well-separated colours: channel values from {0, 128, 255}, without mid grey.
    static readonly (byte R, byte G, byte B)[] palette = BuildPalette();

    static (byte, byte, byte)[] BuildPalette()
    {
        byte[] v = [0, 128, 255];
        var list = new List<(byte, byte, byte)>();
        foreach (var r in v) foreach (var g in v) foreach (var b in v)
            if (!(r == 128 && g == 128 && b == 128)) list.Add((r, g, b));
        return list.ToArray();
    }

    /// Six images of different sizes and aspect ratios, each with 2–4 boxes; class = colour index.
    static string BuildDataset(TempDir dir)
    {
        (int W, int H)[] sizes = [(200, 150), (160, 240), (300, 300), (256, 120), (120, 200), (220, 180)];
        var rng = new Rng(42);
        int colour = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            var (w, h) = sizes[i];
            using var im = RgbImage.Filled(w, h, 60);
            var lines = new List<string>();
            var placed = new List<(int, int, int, int)>();
            int n = 2 + i % 3;
            for (int k = 0; k < n && colour < palette.Length; k++)
            {
                for (int attempt = 0; attempt < 100; attempt++)
                {
                    int bw = 15 + rng.NextInt(w / 3), bh = 15 + rng.NextInt(h / 3);
                    int x = rng.NextInt(w - bw), y = rng.NextInt(h - bh);
                    if (placed.Any(p => x < p.Item3 + 2 && p.Item1 < x + bw + 2 && y < p.Item4 + 2 && p.Item2 < y + bh + 2)) continue;
                    placed.Add((x, y, x + bw, y + bh));
                    TestFiles.Fill(im, x, y, x + bw, y + bh, palette[colour]);
                    lines.Add(TestFiles.LabelLine(colour, x, y, x + bw, y + bh, w, h));
                    colour++;
                    break;
                }
            }
            TestFiles.Save(im, Path.Combine(dir.Path, "images", "train", $"im{i}.png"));
            TestFiles.WriteLabel(dir.Path, "train", $"im{i}", string.Join("\n", lines));
        }
        return dir["images/train"];
    }

    /// Bounding boxes [x1, x2) × [y1, y2) of the 4-connected regions of pixels within 40 of
    /// colour c in every channel (the same source box can appear twice in a mosaic).
    static List<(int X1, int Y1, int X2, int Y2)> Regions(RgbImage im, (byte R, byte G, byte B) c)
    {
        int w = im.Width, h = im.Height;
        var mask = new bool[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var p = im[x, y];
                mask[y * w + x] = Math.Abs(p.R - c.R) <= 40 && Math.Abs(p.G - c.G) <= 40 && Math.Abs(p.B - c.B) <= 40;
            }
        var regions = new List<(int, int, int, int)>();
        var stack = new Stack<int>();
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start]) continue;
            int x1 = int.MaxValue, y1 = int.MaxValue, x2 = -1, y2 = -1;
            mask[start] = false;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int i = stack.Pop(), x = i % w, y = i / w;
                x1 = Math.Min(x1, x); x2 = Math.Max(x2, x + 1); y1 = Math.Min(y1, y); y2 = Math.Max(y2, y + 1);
                foreach (int j in new[] { x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1 })
                    if (j >= 0 && mask[j]) { mask[j] = false; stack.Push(j); }
            }
            regions.Add((x1, y1, x2, y2));
        }
        return regions;
    }

    static void CheckSamples(AugmentHyp hyp, bool tight, int samples)
    {
        using var dir = new TempDir();
        var src = BuildDataset(dir);
        using var ds = YoloDataset.Open([src], palette.Length, DatasetOptions.Training(256, hyp) with { UseLabelCache = false });
        int checkedBoxes = 0;
        for (int s = 0; s < samples; s++)
        {
            using var sample = ds.GetItem(s % ds.Count, new Rng((ulong)(1000 + s)));
            var im = sample.Image;
            Assert.Equal((256, 256), (im.Width, im.Height));
            for (int i = 0; i < sample.LabelCount; i++)
            {
                var l = sample.Labels.AsSpan(i * 5, 5);
                double lx1 = (l[1] - l[3] / 2) * 256, lx2 = (l[1] + l[3] / 2) * 256, ly1 = (l[2] - l[4] / 2) * 256, ly2 = (l[2] + l[4] / 2) * 256;
                // The regions of this colour the label touches (others may be copies whose label
                // box_candidates dropped); one or more must exist.
                var touching = Regions(im, palette[(int)l[0]])
                    .Where(r => r.X1 < lx2 + 2 && lx1 - 2 < r.X2 && r.Y1 < ly2 + 2 && ly1 - 2 < r.Y2).ToList();
                // A rotated box's enclosing rectangle can keep 10 % of its area while the rotated
                // paint is already cropped away (YOLOv5 keeps such labels too): nothing to enclose.
                if (!tight && touching.Count == 0) continue;
                Assert.True(touching.Count > 0, $"sample {s}: label of colour {l[0]} has no painted pixels");
                int px1 = touching.Min(r => r.X1), py1 = touching.Min(r => r.Y1), px2 = touching.Max(r => r.X2), py2 = touching.Max(r => r.Y2);
                string msg = $"sample {s} class {l[0]}: label ({lx1:F1},{ly1:F1},{lx2:F1},{ly2:F1}) painted ({px1},{py1},{px2},{py2})";
                Assert.True(lx1 <= px1 + 2 && ly1 <= py1 + 2 && lx2 >= px2 - 2 && ly2 >= py2 - 2, "label does not enclose paint: " + msg);
                if (tight) Assert.True(lx1 >= px1 - 2 && ly1 >= py1 - 2 && lx2 <= px2 + 2 && ly2 <= py2 + 2, "label larger than paint: " + msg);
                checkedBoxes++;
            }
        }
        Assert.True(checkedBoxes > samples, $"only {checkedBoxes} boxes checked");
    }

    [Fact]
    public void MosaicScaleTranslateAndFlipsKeepBoxesOnTheirPixels() =>
        CheckSamples(AugmentHyp.ScratchLow with { HsvH = 0, HsvS = 0, HsvV = 0, FlipUd = 0.5 }, tight: true, samples: 24);

    [Fact]
    public void RotationShearAndPerspectiveKeepBoxesAroundTheirPixels() =>
        CheckSamples(AugmentHyp.ScratchLow with { HsvH = 0, HsvS = 0, HsvV = 0, FlipUd = 0.5, Degrees = 20, Shear = 8, Perspective = 0.0005 }, tight: false, samples: 16);

    [Fact]
    public void NonMosaicTrainingPathKeepsBoxesOnTheirPixels() =>
        CheckSamples(AugmentHyp.ScratchLow with { HsvH = 0, HsvS = 0, HsvV = 0, Mosaic = 0 }, tight: true, samples: 12);

    [Fact]
    public void MixupKeepsTheLabelsOfBothMosaics()
    {
        using var dir = new TempDir();
        var src = BuildDataset(dir);
        var hyp = AugmentHyp.ScratchLow with { HsvH = 0, HsvS = 0, HsvV = 0, Mixup = 1.0 };
        using var ds = YoloDataset.Open([src], palette.Length, DatasetOptions.Training(256, hyp) with { UseLabelCache = false });
        var plain = AugmentHyp.ScratchLow with { HsvH = 0, HsvS = 0, HsvV = 0 };
        using var ds0 = YoloDataset.Open([src], palette.Length, DatasetOptions.Training(256, plain) with { UseLabelCache = false });
        int more = 0;
        for (int s = 0; s < 6; s++)
        {
            using var a = ds.GetItem(s, new Rng((ulong)s));
            using var b = ds0.GetItem(s, new Rng((ulong)s));
            Assert.True(a.LabelCount >= b.LabelCount);
            if (a.LabelCount > b.LabelCount) more++;
        }
        Assert.True(more > 0);
        var r = Enumerable.Range(0, 2000).Select(i => Mixup.Beta(new Rng((ulong)i), 32, 32)).ToArray();
        Assert.InRange(r.Average(), 0.49, 0.51);
        Assert.InRange(Math.Sqrt(r.Select(x => (x - 0.5) * (x - 0.5)).Average()), 0.055, 0.068); // sd of Beta(32,32) ≈ 0.0615
    }

    [Fact]
    public void BoxCandidatesFollowYoloV5Thresholds()
    {
        Assert.True(BoxCandidates.Keep(10, 10, 5, 5));
        Assert.False(BoxCandidates.Keep(10, 10, 2, 5));            // not wider than 2 px
        Assert.False(BoxCandidates.Keep(100, 100, 30, 30));        // 9 % of the area left
        Assert.True(BoxCandidates.Keep(100, 100, 32, 32));         // 10.2 %
        Assert.False(BoxCandidates.Keep(1000, 10, 500, 4.9));      // aspect ratio 102
    }

    [Fact]
    public void AxisAlignedAndGeneralWarpAgree()
    {
        // The separable fast path and the per-pixel path must produce nearly the same image.
        var rng = new Rng(5);
        using var src = new RgbImage(97, 61);
        for (int i = 0; i < src.Pixels.Length; i++) src.Pixels[i] = (byte)rng.NextInt(256);
        double[] m = [0.73, 0, 11.3, 0, 1.31, -7.2, 0, 0, 1];
        double[] tiny = [0.73, 1e-9, 11.3, 0, 1.31, -7.2, 0, 0, 1];   // forces the general path
        using var a = Warp.Apply(src, m, 80, 90);
        using var b = Warp.Apply(src, tiny, 80, 90);
        int maxDiff = 0;
        for (int i = 0; i < a.Pixels.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(a.Pixels[i] - b.Pixels[i]));
        Assert.True(maxDiff <= 8, $"max difference {maxDiff}");   // 1/32-pixel quantisation of the general path
        Assert.Equal((114, 114, 114), ((int)a[0, 0].R, (int)a[0, 0].G, (int)a[0, 0].B)); // maps left of the source: border
    }

    [Fact]
    public void HsvWithUnitGainsIsNearlyIdentity()
    {
        var rng = new Rng(9);
        using var im = new RgbImage(64, 64);
        for (int i = 0; i < im.Pixels.Length; i++) im.Pixels[i] = (byte)rng.NextInt(256);
        using var copy = im.Clone();
        HsvAugment.ApplyGains(im, 1, 1, 1);
        int maxDiff = 0;
        for (int i = 0; i < im.Pixels.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(im.Pixels[i] - copy.Pixels[i]));
        Assert.True(maxDiff <= 6, $"8-bit HSV round trip differs by {maxDiff}");   // hue quantised to 2 degrees, OpenCV truncates
        // Value gain 0.5 halves a grey, saturation gain 0 turns red grey.
        using var grey = RgbImage.Filled(2, 2, 200);
        HsvAugment.ApplyGains(grey, 1, 1, 0.5);
        Assert.Equal(100, grey.Pixels[0]);
        using var red = RgbImage.Filled(1, 1, 0);
        red[0, 0] = (200, 0, 0);
        HsvAugment.ApplyGains(red, 1, 0, 1);
        Assert.Equal((200, 200, 200), ((int)red[0, 0].R, (int)red[0, 0].G, (int)red[0, 0].B));
    }
}
