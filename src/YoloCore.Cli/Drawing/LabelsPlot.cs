using ScottPlot;
using SkiaSharp;

namespace YoloCore.Cli.Drawing;

/// labels.jpg as YOLOv5's plot_labels draws it for the training set: 8 × 8 inches at 200 dpi
/// (1600 × 1600): instances per class (bars in the class colours, named when there are fewer than
/// 30 classes), the first 1000 boxes drawn about one centre (their shapes at a glance), and 2-D
/// histograms (50 bins) of box centres (x, y) and sizes (width, height), in normalised units.
public static class LabelsPlot
{
    const int Bins = 50;

    /// boxes: class, xc, yc, w, h (normalised) per box.
    public static void Render(IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes, int classes, IReadOnlyList<string> names, string path)
    {
        using var figure = new Figure(8, 8, 200);
        float half = figure.Width / 2f;
        figure.Draw(Bars(figure, boxes, classes, names), 0, 0, half, half);
        Shapes(figure, boxes, half, 0, half);
        figure.Draw(Histogram(figure, boxes.Select(b => (b.X, b.Y)), "x", "y"), 0, half, half, half);
        figure.Draw(Histogram(figure, boxes.Select(b => (b.W, b.H)), "width", "height"), half, half, half, half);
        figure.Save(path);
    }

    static Plot Bars(Figure figure, IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes, int classes, IReadOnlyList<string> names)
    {
        var counts = new int[Math.Max(1, classes)];
        foreach (var b in boxes) if (b.Class >= 0 && b.Class < counts.Length) counts[b.Class]++;
        var p = figure.Panel();
        var bars = counts.Select((count, i) =>
        {
            var (r, g, b) = Palette.Of(i);
            return new Bar { Position = i, Value = count, Size = 0.8, FillColor = new Color(r, g, b), LineWidth = 0 };
        }).ToList();
        p.Add.Bars(bars);
        p.YLabel("instances");
        if (counts.Length < 30)
        {
            p.Axes.Bottom.SetTicks(Enumerable.Range(0, counts.Length).Select(i => (double)i).ToArray(),
                Enumerable.Range(0, counts.Length).Select(i => Palette.Name(names, i)).ToArray());
            // Upright names, as YOLOv5 writes them, need the room of the longest one below the axis.
            p.Axes.Bottom.TickLabelStyle.Rotation = 90;
            p.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            using var font = LabelFont.Font(figure.Points(10));
            p.Axes.Bottom.MinimumSize = Enumerable.Range(0, counts.Length).Max(i => font.MeasureText(Palette.Name(names, i))) + figure.Points(12);
        }
        else p.XLabel("classes");
        p.Axes.Margins(bottom: 0);
        return p;
    }

    /// The first 1000 boxes, centred, on a white square (YOLOv5 draws them on a 2000-pixel image).
    static void Shapes(Figure figure, IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes, float x0, float y0, float size)
    {
        float margin = size * 0.06f, side = size - 2 * margin;
        using var paint = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = Math.Max(1, side / 2000), IsAntialias = true };
        foreach (var b in boxes.Take(1000))
        {
            var (r, g, bl) = Palette.Of(b.Class);
            paint.Color = new SKColor(r, g, bl);
            float w = b.W * side, h = b.H * side;
            figure.Canvas.DrawRect(x0 + margin + (side - w) / 2, y0 + margin + (side - h) / 2, w, h, paint);
        }
    }

    /// A 2-D histogram over the values' range, darker where more boxes fall (seaborn's histplot,
    /// 50 bins, pmax 0.9).
    static Plot Histogram(Figure figure, IEnumerable<(float A, float B)> values, string xLabel, string yLabel)
    {
        var list = values.ToList();
        double ax = list.Count > 0 ? list.Min(v => v.A) : 0, bx = list.Count > 0 ? list.Max(v => v.A) : 1;
        double ay = list.Count > 0 ? list.Min(v => v.B) : 0, by = list.Count > 0 ? list.Max(v => v.B) : 1;
        if (bx - ax < 1e-6) (ax, bx) = (ax - 0.5, bx + 0.5);
        if (by - ay < 1e-6) (ay, by) = (ay - 0.5, by + 0.5);
        var counts = new double[Bins, Bins];
        foreach (var (a, b) in list)
        {
            int c = Math.Clamp((int)((a - ax) / (bx - ax) * Bins), 0, Bins - 1), r = Math.Clamp((int)((b - ay) / (by - ay) * Bins), 0, Bins - 1);
            counts[Bins - 1 - r, c]++;
        }
        double max = 0;
        foreach (var v in counts) max = Math.Max(max, v);
        var cells = new double[Bins, Bins];
        for (int r = 0; r < Bins; r++)
            for (int c = 0; c < Bins; c++)
                cells[r, c] = counts[r, c] == 0 ? double.NaN : Math.Min(1, counts[r, c] / Math.Max(1, 0.9 * max));
        var p = figure.Panel();
        Figure.Cells(p, cells, Figure.Blues, ax, by, (bx - ax) / Bins, (by - ay) / Bins);
        p.Axes.SetLimits(ax, bx, ay, by);
        p.Grid.IsVisible = false;
        p.XLabel(xLabel);
        p.YLabel(yLabel);
        return p;
    }
}
