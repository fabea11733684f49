using System.Globalization;
using YoloCore.Training.Metrics;

namespace YoloCore.Cli.Drawing;

/// YOLOv5's PR_curve.png, F1_curve.png, P_curve.png and R_curve.png: one thin line per class
/// (named with its value when there are at most 21 classes, grey otherwise) and the class mean as
/// a thick blue line, on axes from 0 to 1.
public static class CurvePlot
{
    static readonly (byte, byte, byte) White = (255, 255, 255), Black = (0, 0, 0), Grey = (128, 128, 128), Frame = (200, 200, 200),
        Blue = (31, 119, 180);

    public static void RenderAll(DetectionMetrics m, IReadOnlyList<string> names, string dir)
    {
        if (m.Curves is not { } c || m.Classes.Length == 0) return;
        var ap50 = Enumerable.Range(0, m.Classes.Length).Select(m.Ap50).ToArray();
        Render(Path.Combine(dir, "PR_curve.png"), c.X, c.PrecisionAtRecall, m.Classes, names, "Recall", "Precision",
            i => ap50[i].ToString("F3", CultureInfo.InvariantCulture), mean => $"all classes {m.Map50:F3} mAP@0.5");
        Render(Path.Combine(dir, "F1_curve.png"), c.X, c.F1AtConf, m.Classes, names, "Confidence", "F1", null, MeanAtBest("F1"));
        Render(Path.Combine(dir, "P_curve.png"), c.X, c.PrecisionAtConf, m.Classes, names, "Confidence", "Precision", null, MeanAtBest("P"));
        Render(Path.Combine(dir, "R_curve.png"), c.X, c.RecallAtConf, m.Classes, names, "Confidence", "Recall", null, MeanAtBest("R"));

        // YOLOv5's legend for the confidence curves: the mean's best value and where it is.
        Func<double[], string> MeanAtBest(string what) => mean =>
        {
            int best = Array.IndexOf(mean, mean.Where(double.IsFinite).DefaultIfEmpty(0).Max());
            return string.Create(CultureInfo.InvariantCulture, $"all classes {mean[Math.Max(0, best)]:F2} at {c.X[Math.Max(0, best)]:F3}");
        };
    }

    static void Render(string path, double[] x, double[,] y, int[] classes, IReadOnlyList<string> names, string xLabel, string yLabel,
        Func<int, string>? classValue, Func<double[], string> meanLabel)
    {
        const int left = 70, right = 650, top = 40, bottom = 600;
        var canvas = new Canvas(1050, 660);
        canvas.Fill(White);
        canvas.DrawRect(left, top, right, bottom, Frame);
        int X(double v) => left + (int)Math.Round((right - left) * Math.Clamp(v, 0, 1));
        int Y(double v) => bottom - (int)Math.Round((bottom - top) * Math.Clamp(v, 0, 1));
        for (int t = 0; t <= 5; t++)
        {
            string tick = (t / 5.0).ToString("F1", CultureInfo.InvariantCulture);
            canvas.DrawText(X(t / 5.0) - 8, bottom + 8, tick, Black, 2);
            canvas.DrawText(left - 44, Y(t / 5.0) - 7, tick, Black, 2);
        }
        canvas.DrawText((left + right - BitmapFont.MeasureWidth(xLabel, 2)) / 2, bottom + 32, xLabel, Black, 2);
        canvas.DrawText(8, top - 24, yLabel, Black, 2);

        int nc = y.GetLength(0), n = x.Length;
        bool legend = nc < 21;
        var mean = new double[n];
        for (int k = 0; k < n; k++)
        {
            var column = Enumerable.Range(0, nc).Select(i => y[i, k]).Where(double.IsFinite).ToArray();
            mean[k] = column.Length > 0 ? column.Average() : double.NaN;
        }
        int row = 0;
        for (int i = 0; i < nc; i++)
        {
            if (!double.IsFinite(y[i, 0]) && !double.IsFinite(y[i, n - 1])) continue;
            var colour = legend ? Palette.Of(classes[i]) : Grey;
            for (int k = 0; k + 1 < n; k++)
                if (double.IsFinite(y[i, k]) && double.IsFinite(y[i, k + 1])) canvas.DrawLine(X(x[k]), Y(y[i, k]), X(x[k + 1]), Y(y[i, k + 1]), colour);
            if (!legend) continue;
            string label = Palette.Name(names, classes[i]) + (classValue is null ? "" : " " + classValue(i));
            canvas.FillRect(right + 20, top + 10 + row * 18, right + 40, top + 12 + row * 18, colour);
            canvas.DrawText(right + 46, top + 7 + row++ * 18, label, Black);
        }
        for (int k = 0; k + 1 < n; k++)
            if (double.IsFinite(mean[k]) && double.IsFinite(mean[k + 1])) canvas.DrawLine(X(x[k]), Y(mean[k]), X(x[k + 1]), Y(mean[k + 1]), Blue, 3);
        canvas.FillRect(right + 20, top + 10 + row * 18, right + 40, top + 13 + row * 18, Blue);
        canvas.DrawText(right + 46, top + 7 + row * 18, meanLabel(mean), Black);
        canvas.Save(path);
    }
}
