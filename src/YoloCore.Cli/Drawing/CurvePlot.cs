using System.Globalization;
using ScottPlot;
using YoloCore.Training.Metrics;

namespace YoloCore.Cli.Drawing;

/// YOLOv5's PR_curve.png (plot_pr_curve) and F1_curve.png, P_curve.png, R_curve.png
/// (plot_mc_curve): 9 × 6 inches at 250 dpi (2250 × 1500); one thin line per class in
/// matplotlib's colours with its name (and AP@0.5) in the legend when there are fewer than 21
/// classes, grey otherwise; the all-classes mean as a thick blue line (on the confidence curves
/// box-smoothed over 5 % of the points, as YOLOv5's smooth), named with its value; axes 0 to 1,
/// the legend outside on the right.
public static class CurvePlot
{
    public static void RenderAll(DetectionMetrics m, IReadOnlyList<string> names, string dir)
    {
        if (m.Curves is not { } c || m.Classes.Length == 0) return;
        Render(Path.Combine(dir, "PR_curve.png"), c.X, c.PrecisionAtRecall, m, names, "Recall", "Precision", "Precision-Recall Curve",
            i => " " + m.Ap50(i).ToString("F3", CultureInfo.InvariantCulture), mean => (mean, $"all classes {m.Map50:F3} mAP@0.5"));
        foreach (var (file, y, label) in new[] { ("F1_curve.png", c.F1AtConf, "F1"), ("P_curve.png", c.PrecisionAtConf, "Precision"), ("R_curve.png", c.RecallAtConf, "Recall") })
            Render(Path.Combine(dir, file), c.X, y, m, names, "Confidence", label, $"{label}-Confidence Curve", null, mean =>
            {
                var s = BoxSmooth(mean, 0.05);
                int best = Array.IndexOf(s, s.Max());
                return (s, string.Create(CultureInfo.InvariantCulture, $"all classes {s[best]:F2} at {c.X[best]:F3}"));
            });
    }

    static void Render(string path, double[] x, double[,] y, DetectionMetrics m, IReadOnlyList<string> names, string xLabel, string yLabel,
        string title, Func<int, string>? classValue, Func<double[], (double[] Line, string Label)> mean)
    {
        using var figure = new Figure(9, 6, 250);
        var p = figure.Panel();
        int nc = y.GetLength(0), n = x.Length;
        bool perClass = nc < 21;
        for (int i = 0; i < nc; i++)
        {
            var line = p.Add.Scatter(x, Enumerable.Range(0, n).Select(k => y[i, k]).ToArray(), perClass ? Figure.Tab10[i % 10] : Colors.Grey);
            line.LineWidth = figure.Points(1);
            line.MarkerSize = 0;
            if (perClass) line.LegendText = Palette.Name(names, m.Classes[i]) + (classValue?.Invoke(i) ?? "");
        }
        var average = Enumerable.Range(0, n).Select(k => Enumerable.Range(0, nc).Average(i => y[i, k])).ToArray();
        var (values, label) = mean(average);
        var all = p.Add.Scatter(x, values, Colors.Blue);
        all.LineWidth = figure.Points(3);
        all.MarkerSize = 0;
        all.LegendText = label;
        p.Axes.SetLimits(0, 1, 0, 1);
        Figure.UnitTicks(p);
        p.XLabel(xLabel);
        p.YLabel(yLabel);
        p.Title(title);
        p.ShowLegend(Edge.Right);
        figure.Draw(p, 0, 0, figure.Width, figure.Height);
        figure.Save(path);
    }

    /// YOLOv5's smooth(y, f): a box filter over round(2·f·n)//2·2 + 1 points, the ends padded with
    /// the end values.
    public static double[] BoxSmooth(double[] y, double fraction)
    {
        int nf = (int)Math.Round(y.Length * fraction * 2, MidpointRounding.ToEven) / 2 + 1;
        int pad = nf / 2;
        var padded = Enumerable.Repeat(y[0], pad).Concat(y).Concat(Enumerable.Repeat(y[^1], pad)).ToArray();
        var r = new double[padded.Length - nf + 1];
        for (int i = 0; i < r.Length; i++)
        {
            double s = 0;
            for (int k = 0; k < nf; k++) s += padded[i + k];
            r[i] = s / nf;
        }
        return r;
    }
}
