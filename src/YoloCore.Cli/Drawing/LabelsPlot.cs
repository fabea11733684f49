using System.Globalization;

namespace YoloCore.Cli.Drawing;

/// labels.jpg as YOLOv5's plot_labels draws it for the training set: instances per class (bars in
/// class colours), the first 1000 boxes drawn about one centre (their shapes at a glance), and 2-D
/// histograms of box centres (x, y) and sizes (width, height), all in normalised units.
public static class LabelsPlot
{
    const int Panel = 800, Bins = 50;
    static readonly (byte, byte, byte) White = (255, 255, 255), Black = (0, 0, 0), Frame = (200, 200, 200);

    /// boxes: class, xc, yc, w, h (normalised) per box.
    public static void Render(IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes, int classes, IReadOnlyList<string> names, string path)
    {
        var canvas = new Canvas(2 * Panel, 2 * Panel);
        canvas.Fill(White);
        Bars(canvas, boxes, classes, names);
        Shapes(canvas, boxes);
        Histogram(canvas, 0, Panel, boxes.Select(b => (b.X, b.Y)), "x", "y");
        Histogram(canvas, Panel, Panel, boxes.Select(b => (b.W, b.H)), "width", "height");
        canvas.Save(path);
    }

    static void Bars(Canvas c, IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes, int classes, IReadOnlyList<string> names)
    {
        int left = 70, right = Panel - 20, top = 30, bottom = Panel - 60;
        var counts = new int[Math.Max(1, classes)];
        foreach (var b in boxes) if (b.Class >= 0 && b.Class < counts.Length) counts[b.Class]++;
        int max = Math.Max(1, counts.Max());
        c.DrawRect(left, top, right, bottom, Frame);
        double width = (right - left) / (double)counts.Length;
        for (int i = 0; i < counts.Length; i++)
        {
            int x0 = left + (int)(i * width + width * 0.1), x1 = left + (int)((i + 1) * width - width * 0.1);
            c.FillRect(x0, bottom - (int)Math.Round((bottom - top) * counts[i] / (double)max), Math.Max(x0 + 1, x1), bottom, Palette.Of(i));
            if (counts.Length >= 30) continue;
            string name = Palette.Name(names, i);
            while (name.Length > 1 && BitmapFont.MeasureWidth(name) > width) name = name[..^1];
            c.DrawText(x0 + (x1 - x0 - BitmapFont.MeasureWidth(name)) / 2, bottom + 6, name, Black);
        }
        c.DrawText(left - 60, top - 4, max.ToString(CultureInfo.InvariantCulture), Black);
        c.DrawText(left - 16, bottom - BitmapFont.Height, "0", Black);
        c.DrawText((left + right - BitmapFont.MeasureWidth("instances", 2)) / 2, bottom + 30, "instances", Black, 2);
    }

    static void Shapes(Canvas c, IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes)
    {
        int x0 = Panel + 20, y0 = 20, size = Panel - 40;
        foreach (var b in boxes.Take(1000))
        {
            int hw = (int)(b.W * size / 2), hh = (int)(b.H * size / 2);
            c.DrawRect(x0 + size / 2 - hw, y0 + size / 2 - hh, x0 + size / 2 + hw, y0 + size / 2 + hh, Palette.Of(b.Class));
        }
    }

    static void Histogram(Canvas c, int x0, int y0, IEnumerable<(float U, float V)> points, string xLabel, string yLabel)
    {
        int left = x0 + 70, right = x0 + Panel - 20, top = y0 + 20, bottom = y0 + Panel - 60;
        var bins = new int[Bins, Bins];
        foreach (var (u, v) in points)
            bins[Math.Clamp((int)(u * Bins), 0, Bins - 1), Math.Clamp((int)(v * Bins), 0, Bins - 1)]++;
        int max = Math.Max(1, bins.Cast<int>().Max());
        double cw = (right - left) / (double)Bins, ch = (bottom - top) / (double)Bins;
        for (int i = 0; i < Bins; i++)
            for (int j = 0; j < Bins; j++)
            {
                if (bins[i, j] == 0) continue;
                double f = Math.Sqrt(bins[i, j] / (double)max); // square root so sparse bins still show
                var shade = ((byte)(220 - 200 * f), (byte)(230 - 160 * f), (byte)(250 - 110 * f));
                c.FillRect(left + (int)(i * cw), bottom - (int)((j + 1) * ch), left + (int)((i + 1) * cw) + 1, bottom - (int)(j * ch) + 1, shade);
            }
        c.DrawRect(left, top, right, bottom, Frame);
        for (int t = 0; t <= 4; t++)
        {
            string tick = (t / 4.0).ToString("F2", CultureInfo.InvariantCulture);
            c.DrawText(left + (int)((right - left) * t / 4.0) - 12, bottom + 6, tick, Black);
            c.DrawText(left - 34, bottom - (int)((bottom - top) * t / 4.0) - 3, tick, Black);
        }
        c.DrawText((left + right - BitmapFont.MeasureWidth(xLabel, 2)) / 2, bottom + 24, xLabel, Black, 2);
        c.DrawText(x0 + 4, top - 16, yLabel, Black, 2);
    }
}
