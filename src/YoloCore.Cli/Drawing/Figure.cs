using SkiaSharp;
using ScottPlot;

namespace YoloCore.Cli.Drawing;

/// A white figure at matplotlib's size (inches × dpi, as YOLOv5's savefig writes it) holding
/// ScottPlot panels, saved as PNG or JPEG. Sizes of text and lines scale with the dpi the way
/// matplotlib's points do (a point is dpi / 72 pixels).
public sealed class Figure : IDisposable
{
    readonly SKSurface surface;
    public int Width { get; }
    public int Height { get; }
    public float Dpi { get; }

    public Figure(double inchesWide, double inchesHigh, float dpi)
    {
        LabelFont.UseForPlots();
        (Width, Height, Dpi) = ((int)Math.Round(inchesWide * dpi), (int)Math.Round(inchesHigh * dpi), dpi);
        surface = SKSurface.Create(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"cannot create a {Width}×{Height} drawing surface");
        surface.Canvas.Clear(SKColors.White);
    }

    public SKCanvas Canvas => surface.Canvas;

    /// matplotlib points in this figure's pixels.
    public float Points(double pt) => (float)(pt * Dpi / 72);

    /// A panel with matplotlib's look: white, black frame, ticks outside, text in points.
    public Plot Panel(double fontPoints = 10)
    {
        var p = new Plot();
        p.FigureBackground.Color = Colors.White;
        p.DataBackground.Color = Colors.White;
        float text = Points(fontPoints);
        foreach (var axis in p.Axes.GetAxes())
        {
            axis.TickLabelStyle.FontSize = text;
            axis.Label.FontSize = text;
            axis.FrameLineStyle.Color = Colors.Black;
            axis.FrameLineStyle.Width = Points(0.8);
            axis.MajorTickStyle.Length = Points(3.5);
            axis.MajorTickStyle.Width = Points(0.8);
            axis.MinorTickStyle.Length = 0;
        }
        p.Axes.Title.Label.FontSize = Points(fontPoints * 1.2);
        p.Grid.MajorLineColor = Colors.Black.WithAlpha(0.08);
        p.Grid.MajorLineWidth = Points(0.5);
        p.Legend.FontSize = text;
        return p;
    }

    /// Draws a panel into [x, x + w) × [y, y + h) of the figure (on a surface of its own: a
    /// plot clears the canvas it renders on).
    public void Draw(Plot plot, float x, float y, float w, float h)
    {
        using var panel = SKSurface.Create(new SKImageInfo((int)Math.Round(w), (int)Math.Round(h), SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("cannot create a panel surface");
        plot.Render(panel);
        using var image = panel.Snapshot();
        surface.Canvas.DrawImage(image, x, y);
    }

    public void Save(string path)
    {
        using var image = surface.Snapshot();
        bool jpeg = path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase);
        using var data = image.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 95);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    public void Dispose() => surface.Dispose();

    /// matplotlib's "Blues": white at 0, dark blue at 1 (ScottPlot's runs the other way).
    public static readonly IColormap Blues = new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Blues());

    /// A grid of filled cells, value v drawn over [x0 + c·w, x0 + (c + 1)·w] × [y0 - (r + 1)·h, y0 - r·h]
    /// (row 0 on top) in the colour map over [0, 1]; NaN cells are left blank. (Drawn as
    /// rectangles: ScottPlot's heatmap resamples a bitmap and smears cell edges.) Returns an
    /// invisible heatmap that a colour bar can be made from.
    public static ScottPlot.Plottables.Heatmap Cells(Plot p, double[,] values, IColormap colormap, double x0, double y0, double w, double h)
    {
        for (int r = 0; r < values.GetLength(0); r++)
            for (int c = 0; c < values.GetLength(1); c++)
            {
                double v = values[r, c];
                if (double.IsNaN(v)) continue;
                var cell = p.Add.Rectangle(x0 + c * w, x0 + (c + 1) * w, y0 - (r + 1) * h, y0 - r * h);
                cell.FillColor = colormap.GetColor(Math.Clamp(v, 0, 1));
                cell.LineWidth = 0;
            }
        var scale = p.Add.Heatmap(new double[,] { { 0, 1 } });
        scale.Colormap = colormap;
        scale.IsVisible = false;
        return scale;
    }

    /// Ticks every 0.2, as matplotlib puts them on a 0–1 axis.
    public static void UnitTicks(Plot p)
    {
        p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(0.2);
        p.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(0.2);
    }

    /// matplotlib's default colour cycle (tab10), which YOLOv5's plots use for per-class lines.
    public static readonly Color[] Tab10 =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728"), Color.FromHex("#9467bd"),
        Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f"), Color.FromHex("#bcbd22"), Color.FromHex("#17becf"),
    ];
}
