using System.Globalization;
using ScottPlot;

namespace YoloCore.Cli.Drawing;

/// results.png as YOLOv5's plot_results draws it: 12 × 6 inches at 200 dpi (2400 × 1200), a 2 × 5
/// grid with the three training losses, precision and recall on top and the three validation
/// losses and the two mAPs below; in each, the value per epoch (blue, dots) and its gaussian
/// smoothing (orange, dotted; scipy's gaussian_filter1d, sigma 3); the legend in the second panel.
public static class ResultsPlot
{
    static readonly string[] panels =
    [
        "train/box_loss", "train/obj_loss", "train/cls_loss", "metrics/precision", "metrics/recall",
        "val/box_loss", "val/obj_loss", "val/cls_loss", "metrics/mAP_0.5", "metrics/mAP_0.5:0.95",
    ];

    public static void Render(string csvPath, string pngPath)
    {
        var lines = File.ReadAllLines(csvPath).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count < 2) return;
        var header = lines[0].Split(',').Select(h => h.Trim()).ToList();
        var rows = lines.Skip(1).Select(l => l.Split(',').Select(v => double.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN).ToArray()).ToList();
        var epochs = rows.Select(r => r[0]).ToArray();
        using var figure = new Figure(12, 6, 200);
        float w = figure.Width / 5f, h = figure.Height / 2f;
        for (int i = 0; i < panels.Length; i++)
        {
            int col = header.IndexOf(panels[i]);
            var ys = col < 0 ? [] : rows.Select(r => col < r.Length ? r[col] : double.NaN).ToArray();
            var p = figure.Panel();
            p.Title(panels[i]);
            if (ys.Length > 0)
            {
                var values = p.Add.Scatter(epochs, ys, Figure.Tab10[0]);
                values.LineWidth = figure.Points(2);
                values.MarkerSize = figure.Points(8) / 2;
                values.MarkerShape = MarkerShape.FilledCircle;
                values.LegendText = "results";
                var smooth = p.Add.Scatter(epochs, GaussianFilter1d(ys, 3), Figure.Tab10[1]);
                smooth.LineWidth = figure.Points(2);
                smooth.LinePattern = LinePattern.Dotted;
                smooth.MarkerSize = 0;
                smooth.LegendText = "smooth";
                if (i == 1) p.ShowLegend(Alignment.UpperRight);
                else p.HideLegend();
            }
            figure.Draw(p, i % 5 * w, i / 5 * h, w, h);
        }
        figure.Save(pngPath);
    }

    /// scipy.ndimage.gaussian_filter1d(y, sigma) with its defaults: mode 'reflect' (the edge value
    /// repeated: d c b a | a b c d | d c b a) and the kernel truncated at 4 sigma.
    public static double[] GaussianFilter1d(double[] y, double sigma)
    {
        int n = y.Length, radius = (int)(4 * sigma + 0.5);
        var weights = Enumerable.Range(-radius, 2 * radius + 1).Select(x => Math.Exp(-0.5 * x * x / (sigma * sigma))).ToArray();
        double total = weights.Sum();
        var r = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int k = -radius; k <= radius; k++) s += weights[k + radius] * y[Reflect(i + k, n)];
            r[i] = s / total;
        }
        return r;
    }

    static int Reflect(int i, int n)
    {
        while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
        return i;
    }
}
