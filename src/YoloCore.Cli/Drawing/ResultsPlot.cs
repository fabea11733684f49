using System.Globalization;

namespace YoloCore.Cli.Drawing;

/// results.png the way YOLOv5 draws it: a 2×5 grid with the three training losses, precision and
/// recall on top, the three validation losses and the two mAPs below; each panel plots the value
/// per epoch (blue, with dots) and a smoothed curve (orange, as YOLOv5's gaussian_filter1d).
public static class ResultsPlot
{
    static readonly (byte, byte, byte) White = (255, 255, 255), Black = (0, 0, 0), Grey = (200, 200, 200),
        Blue = (31, 119, 180), Orange = (255, 127, 14);

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
        const int pw = 300, ph = 250;
        var canvas = new Canvas(pw * 5, ph * 2);
        canvas.Fill(White);
        for (int i = 0; i < panels.Length; i++)
        {
            int col = header.IndexOf(panels[i]);
            var ys = col < 0 ? [] : rows.Select(r => col < r.Length ? r[col] : double.NaN).ToArray();
            Panel(canvas, (i % 5) * pw, (i / 5) * ph, pw, ph, panels[i], ys);
        }
        canvas.Save(pngPath);
    }

    static void Panel(Canvas c, int x0, int y0, int w, int h, string title, double[] ys)
    {
        c.DrawText(x0 + (w - BitmapFont.MeasureWidth(title, 2)) / 2, y0 + 6, title, Black, 2);
        int left = x0 + 48, right = x0 + w - 12, top = y0 + 28, bottom = y0 + h - 28;
        c.DrawRect(left, top, right, bottom, Grey);
        var finite = ys.Where(double.IsFinite).ToArray();
        if (finite.Length == 0) return;
        double lo = finite.Min(), hi = finite.Max();
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        int X(int i) => ys.Length == 1 ? (left + right) / 2 : left + (int)Math.Round((right - left) * (double)i / (ys.Length - 1));
        int Y(double v) => bottom - (int)Math.Round((bottom - top) * (v - lo) / (hi - lo));
        c.DrawText(x0 + 2, top, Format(hi), Black);
        c.DrawText(x0 + 2, bottom - BitmapFont.Height, Format(lo), Black);
        c.DrawText(left, bottom + 6, "0", Black);
        string last = (ys.Length - 1).ToString();
        c.DrawText(right - BitmapFont.MeasureWidth(last), bottom + 6, last, Black);
        var smooth = Smooth(ys, 3);
        for (int i = 0; i + 1 < ys.Length; i++)
        {
            if (double.IsFinite(ys[i]) && double.IsFinite(ys[i + 1])) c.DrawLine(X(i), Y(ys[i]), X(i + 1), Y(ys[i + 1]), Blue, 2);
            if (double.IsFinite(smooth[i]) && double.IsFinite(smooth[i + 1]) && i % 2 == 0) c.DrawLine(X(i), Y(smooth[i]), X(i + 1), Y(smooth[i + 1]), Orange, 2);
        }
        for (int i = 0; i < ys.Length; i++)
            if (double.IsFinite(ys[i])) c.FillRect(X(i) - 2, Y(ys[i]) - 2, X(i) + 3, Y(ys[i]) + 3, Blue);
    }

    static string Format(double v) => Math.Abs(v) >= 100 ? v.ToString("F0", CultureInfo.InvariantCulture) : v.ToString("G3", CultureInfo.InvariantCulture);

    /// A gaussian moving average (sigma in epochs), ignoring missing values.
    static double[] Smooth(double[] ys, double sigma)
    {
        var r = new double[ys.Length];
        int radius = (int)Math.Ceiling(3 * sigma);
        for (int i = 0; i < ys.Length; i++)
        {
            double sum = 0, weight = 0;
            for (int k = -radius; k <= radius; k++)
            {
                int j = Math.Clamp(i + k, 0, ys.Length - 1);
                if (!double.IsFinite(ys[j])) continue;
                double wk = Math.Exp(-0.5 * k * k / (sigma * sigma));
                sum += wk * ys[j];
                weight += wk;
            }
            r[i] = weight > 0 ? sum / weight : double.NaN;
        }
        return r;
    }
}
