using System.Globalization;
using ScottPlot;
using YoloCore.Training.Metrics;

namespace YoloCore.Cli.Drawing;

/// confusion_matrix.png as YOLOv5 draws it (seaborn's heatmap): 12 × 9 inches at 250 dpi
/// (3000 × 2250); each true class's column normalised to 1, cells under 0.005 left blank,
/// matplotlib's "Blues" with a colour bar, values written in the cells when there are fewer than
/// 30 classes, class names (and "background") on both axes; "True" across, "Predicted" down.
public static class ConfusionPlot
{
    public static void Render(ConfusionMatrix matrix, IReadOnlyList<string> names, string path)
    {
        var values = matrix.ColumnNormalised();
        int n = matrix.Classes + 1;
        var cells = new double[n, n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                cells[r, c] = values[r, c] < 0.005 ? double.NaN : values[r, c];
        using var figure = new Figure(12, 9, 250);
        var p = figure.Panel(fontPoints: n < 50 ? 10 : 8);
        // Cell (row r, column c) covers [c, c + 1] × [n - r - 1, n - r]: row 0 (the first class) on top.
        var scale = Figure.Cells(p, cells, Figure.Blues, 0, n, 1, 1);
        var bar = p.Add.ColorBar(scale, Edge.Right);
        bar.Axis.TickLabelStyle.FontSize = figure.Points(10);
        bar.Axis.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(0.2);
        if (matrix.Classes < 30)
            for (int r = 0; r < n; r++)
                for (int c = 0; c < n; c++)
                {
                    if (double.IsNaN(cells[r, c])) continue;
                    var text = p.Add.Text(cells[r, c].ToString("F2", CultureInfo.InvariantCulture), c + 0.5, n - r - 0.5);
                    text.LabelFontSize = figure.Points(8);
                    text.LabelAlignment = Alignment.MiddleCenter;
                    text.LabelFontColor = cells[r, c] > 0.5 ? Colors.White : Colors.Black;
                }
        bool named = matrix.Classes is > 0 and < 99 && names.Count == matrix.Classes;
        var labels = Enumerable.Range(0, n).Select(i => i < matrix.Classes ? (named ? names[i] : i.ToString()) : "background").ToArray();
        var centres = Enumerable.Range(0, n).Select(i => i + 0.5).ToArray();
        p.Axes.Bottom.SetTicks(centres, labels);
        p.Axes.Left.SetTicks(centres.Reverse().ToArray(), labels);
        if (n > 8)
        {
            p.Axes.Bottom.TickLabelStyle.Rotation = 90;
            p.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            using var font = LabelFont.Font(p.Axes.Bottom.TickLabelStyle.FontSize);
            p.Axes.Bottom.MinimumSize = labels.Max(l => font.MeasureText(l)) + figure.Points(12);
        }
        p.Axes.SetLimits(0, n, 0, n);
        p.Grid.IsVisible = false;
        p.XLabel("True");
        p.YLabel("Predicted");
        p.Title("Confusion Matrix");
        figure.Draw(p, 0, 0, figure.Width, figure.Height);
        figure.Save(path);
    }
}
