using System.Globalization;
using System.Text;

namespace YoloCore.Data;

/// A small, learnable YOLO dataset of coloured shapes on textured backgrounds: class 0 rectangles,
/// 1 ellipses, 2 triangles, 1–4 per image, 12–45 % of the image side, never overlapping, so every
/// label is the exact extent of the painted pixels. Each class keeps to its own hue family to make
/// the task learnable in minutes on a CPU. Every image is a pure function of (seed, split, number),
/// so the output is the same bytes for a given seed whatever the thread count.
public static class SyntheticDataset
{
    public static readonly string[] ClassNames = ["rectangle", "ellipse", "triangle"];

    /// Writes images/{train,val}, labels/{train,val} and data.yaml under outDir (replacing an earlier
    /// synthetic dataset there) and returns the YAML's path.
    public static string Generate(string outDir, int trainCount, int valCount, int imageSize = 320, int seed = 0)
    {
        if (trainCount < 1 || valCount < 1) throw new ArgumentException("train and val counts must be at least 1");
        if (imageSize < 64 || imageSize > 4096) throw new ArgumentException($"image size {imageSize} must be in [64, 4096]");
        outDir = Path.GetFullPath(outDir);
        foreach (var split in new[] { "train", "val" })
        {
            foreach (var kind in new[] { "images", "labels" })
            {
                var dir = Path.Combine(outDir, kind, split);
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                Directory.CreateDirectory(dir);
            }
            File.Delete(Path.Combine(outDir, "labels", split + ".cache"));
        }
        var jobs = Enumerable.Range(0, trainCount).Select(i => ("train", i)).Concat(Enumerable.Range(0, valCount).Select(i => ("val", i))).ToArray();
        Parallel.ForEach(jobs, job =>
        {
            var (split, i) = job;
            var rng = new Rng(SampleSeed.Mix((ulong)seed, split == "train" ? 1UL : 2UL, (ulong)i));
            using var im = Render(imageSize, rng, out var labels);
            string name = $"{split}_{i:D5}";
            ImageEncoder.Save(im, Path.Combine(outDir, "images", split, name + ".jpg"), quality: 95);
            File.WriteAllText(Path.Combine(outDir, "labels", split, name + ".txt"), labels);
        });
        string yaml = Path.Combine(outDir, "data.yaml");
        File.WriteAllText(yaml,
            $"# Synthetic shapes dataset: yolocore data synth --train {trainCount} --val {valCount} --img {imageSize} --seed {seed}\n" +
            "path: .\ntrain: images/train\nval: images/val\n" +
            $"nc: {ClassNames.Length}\nnames: [{string.Join(", ", ClassNames)}]\n");
        return yaml;
    }

    // Hue families per class (degrees): warm, green-cyan, blue-violet.
    static readonly (double Lo, double Hi)[] hues = [(-20, 40), (90, 170), (210, 290)];

    /// One image and its label text.
    public static RgbImage Render(int size, Rng rng, out string labelText)
    {
        var im = Background(size, rng);
        var placed = new List<(int X1, int Y1, int X2, int Y2)>();
        var text = new StringBuilder();
        int count = 1 + rng.NextInt(4);
        for (int n = 0; n < count; n++)
        {
            for (int attempt = 0; attempt < 40; attempt++)
            {
                int cls = rng.NextInt(3);
                double side = size * (0.12 + 0.33 * rng.NextDouble());
                double aspect = Math.Exp((rng.NextDouble() - 0.5) * 1.2);   // about 0.55 .. 1.8
                int w = Math.Max(8, (int)(side * Math.Sqrt(aspect))), h = Math.Max(8, (int)(side / Math.Sqrt(aspect)));
                w = Math.Min(w, size - 4); h = Math.Min(h, size - 4);
                int x = 2 + rng.NextInt(size - w - 3), y = 2 + rng.NextInt(size - h - 3);
                // Keep a 3-pixel gap between shapes so no shape hides part of another.
                if (placed.Any(p => x < p.X2 + 3 && p.X1 < x + w + 3 && y < p.Y2 + 3 && p.Y1 < y + h + 3)) continue;
                var colour = Colour(cls, rng);
                double apex = rng.NextDouble();
                bool pointDown = rng.NextDouble() < 0.5;
                var box = Paint(im, cls, x, y, w, h, apex, pointDown, colour, rng);
                if (box is null) continue;
                var (x1, y1, x2, y2) = box.Value;
                placed.Add((x, y, x + w, y + h));
                text.Append(string.Create(CultureInfo.InvariantCulture,
                    $"{cls} {(x1 + x2) / 2.0 / size:F6} {(y1 + y2) / 2.0 / size:F6} {(x2 - x1) / (double)size:F6} {(y2 - y1) / (double)size:F6}\n"));
                break;
            }
        }
        labelText = text.ToString();
        return im;
    }

    static (byte, byte, byte) Colour(int cls, Rng rng)
    {
        var (lo, hi) = hues[cls];
        double hue = (lo + (hi - lo) * rng.NextDouble() + 360) % 360;
        double s = 0.65 + 0.35 * rng.NextDouble(), v = 0.7 + 0.3 * rng.NextDouble();
        double c = v * s, hp = hue / 60, xx = c * (1 - Math.Abs(hp % 2 - 1)), m = v - c;
        var (r, g, b) = (int)hp switch
        {
            0 => (c, xx, 0.0), 1 => (xx, c, 0.0), 2 => (0.0, c, xx), 3 => (0.0, xx, c), 4 => (xx, 0.0, c), _ => (c, 0.0, xx),
        };
        return ((byte)((r + m) * 255), (byte)((g + m) * 255), (byte)((b + m) * 255));
    }

    /// Fills the shape inside box (x, y, w, h), testing pixel centres, and returns the exact extent
    /// of the painted pixels as [x1, x2) × [y1, y2), or null if nothing was painted.
    static (int, int, int, int)? Paint(RgbImage im, int cls, int x, int y, int w, int h, double apex, bool pointDown, (byte R, byte G, byte B) c, Rng rng)
    {
        int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
        var p = im.Pixels;
        double cx = x + w / 2.0, cy = y + h / 2.0, rx = w / 2.0, ry = h / 2.0;
        // Triangle: apex on one horizontal edge, base along the other.
        double ax = x + apex * w, ay = pointDown ? y + h : y, by = pointDown ? y : y + h;
        for (int py = y; py < y + h; py++)
        {
            double yc = py + 0.5;
            for (int px = x; px < x + w; px++)
            {
                double xc = px + 0.5;
                bool inside = cls switch
                {
                    0 => true,
                    1 => Sq((xc - cx) / rx) + Sq((yc - cy) / ry) <= 1,
                    _ => InTriangle(xc, yc, ax, ay, x, by, x + w, by),
                };
                if (!inside) continue;
                // A little shading so the fill is not one flat colour.
                int shade = (int)((yc - y) / h * 30) - 15;
                int o = (py * im.Width + px) * 3;
                p[o] = Clamp(c.R + shade); p[o + 1] = Clamp(c.G + shade); p[o + 2] = Clamp(c.B + shade);
                minX = Math.Min(minX, px); maxX = Math.Max(maxX, px);
                minY = Math.Min(minY, py); maxY = Math.Max(maxY, py);
            }
        }
        return maxX < 0 ? null : (minX, minY, maxX + 1, maxY + 1);
    }

    static double Sq(double v) => v * v;
    static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);

    static bool InTriangle(double px, double py, double ax, double ay, double bx, double by, double cx, double cy)
    {
        double d1 = (px - bx) * (ay - by) - (ax - bx) * (py - by);
        double d2 = (px - cx) * (by - cy) - (bx - cx) * (py - cy);
        double d3 = (px - ax) * (cy - ay) - (cx - ax) * (py - ay);
        bool neg = d1 < 0 || d2 < 0 || d3 < 0, pos = d1 > 0 || d2 > 0 || d3 > 0;
        return !(neg && pos);
    }

    /// Muted value noise: a coarse grid of dull colours interpolated bilinearly, plus fine grain
    /// and faint stripes, so the detector must separate shapes from texture rather than from a
    /// flat colour.
    static RgbImage Background(int size, Rng rng)
    {
        const int grid = 6;
        var corners = new double[(grid + 1) * (grid + 1) * 3];
        double baseGrey = 60 + 120 * rng.NextDouble();
        for (int i = 0; i < corners.Length; i++) corners[i] = Math.Clamp(baseGrey + (rng.NextDouble() - 0.5) * 90, 0, 255);
        double stripeFreq = 2 * Math.PI / (8 + 24 * rng.NextDouble()), stripeAmp = 12 * rng.NextDouble();
        double angle = rng.NextDouble() * Math.PI;
        double sa = Math.Sin(angle) * stripeFreq, ca = Math.Cos(angle) * stripeFreq;
        var im = new RgbImage(size, size);
        var p = im.Pixels;
        double cell = (double)size / grid;
        ulong noise = rng.NextUInt64() | 1;
        for (int y = 0; y < size; y++)
        {
            double gy = y / cell;
            int iy = Math.Min((int)gy, grid - 1);
            double fy = gy - iy;
            for (int x = 0; x < size; x++)
            {
                double gx = x / cell;
                int ix = Math.Min((int)gx, grid - 1);
                double fx = gx - ix;
                double stripe = stripeAmp * Math.Sin(x * ca + y * sa);
                noise ^= noise << 13; noise ^= noise >> 7; noise ^= noise << 17;   // xorshift grain
                int grain = (int)(noise % 17) - 8;
                int o = (y * size + x) * 3;
                for (int ch = 0; ch < 3; ch++)
                {
                    double v00 = corners[(iy * (grid + 1) + ix) * 3 + ch], v01 = corners[(iy * (grid + 1) + ix + 1) * 3 + ch];
                    double v10 = corners[((iy + 1) * (grid + 1) + ix) * 3 + ch], v11 = corners[((iy + 1) * (grid + 1) + ix + 1) * 3 + ch];
                    double v = (v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy;
                    p[o + ch] = Clamp((int)(v + stripe) + grain);
                }
            }
        }
        return im;
    }
}
