using System.Globalization;
using YoloCore.Training.Metrics;

namespace YoloCore.Cli.Drawing;

/// confusion_matrix.png as YOLOv5 draws it: each true class's column normalised to 1, cells under
/// 0.005 left blank, matplotlib's "Blues" colours, values written in the cells and class names on
/// the axes when there are fewer than 30 classes; "True" across, "Predicted" down.
public static class ConfusionPlot
{
    static readonly (double At, byte R, byte G, byte B)[] blues =
    [
        (0, 247, 251, 255), (0.125, 222, 235, 247), (0.25, 198, 219, 239), (0.375, 158, 202, 225), (0.5, 107, 174, 214),
        (0.625, 66, 146, 198), (0.75, 33, 113, 181), (0.875, 8, 81, 156), (1, 8, 48, 107),
    ];
    static readonly (byte, byte, byte) White = (255, 255, 255), Black = (0, 0, 0);

    public static void Render(ConfusionMatrix matrix, IReadOnlyList<string> names, string path)
    {
        var values = matrix.ColumnNormalised();
        int n = matrix.Classes + 1;
        bool labels = matrix.Classes < 30;
        const int left = 130, top = 50, size = 720;
        int cell = size / n;
        var canvas = new Canvas(left + cell * n + 40, top + cell * n + 120);
        canvas.Fill(White);
        string title = "Confusion Matrix";
        canvas.DrawText(left + (cell * n - BitmapFont.MeasureWidth(title, 2)) / 2, 14, title, Black, 2);
        for (int p = 0; p < n; p++)
            for (int t = 0; t < n; t++)
            {
                double v = values[p, t];
                if (v < 0.005) continue;
                int x = left + t * cell, y = top + p * cell;
                canvas.FillRect(x, y, x + cell, y + cell, Blue(v));
                string text = v.ToString("F2", CultureInfo.InvariantCulture);
                if (labels && cell >= BitmapFont.MeasureWidth(text) + 4)
                    canvas.DrawText(x + (cell - BitmapFont.MeasureWidth(text)) / 2, y + (cell - BitmapFont.Height) / 2, text, v > 0.5 ? White : Black);
            }
        canvas.DrawRect(left, top, left + cell * n, top + cell * n, (200, 200, 200));
        if (labels)
            for (int i = 0; i < n; i++)
            {
                string name = i < matrix.Classes ? Palette.Name(names, i) : "background";
                canvas.DrawText(4, top + i * cell + (cell - BitmapFont.Height) / 2, Fit(name, left - 8), Black);
                string across = Fit(name, cell - 2);
                canvas.DrawText(left + i * cell + (cell - BitmapFont.MeasureWidth(across)) / 2, top + cell * n + 6, across, Black);
            }
        canvas.DrawText(left + (cell * n - BitmapFont.MeasureWidth("True", 2)) / 2, top + cell * n + 30, "True", Black, 2);
        canvas.DrawText(4, top - 24, "Predicted", Black, 2);
        canvas.Save(path);
    }

    /// The longest prefix of text that fits in width pixels.
    static string Fit(string text, int width)
    {
        while (text.Length > 1 && BitmapFont.MeasureWidth(text) > width) text = text[..^1];
        return text;
    }

    static (byte, byte, byte) Blue(double v)
    {
        for (int i = 1; i < blues.Length; i++)
            if (v <= blues[i].At)
            {
                var (a, b) = (blues[i - 1], blues[i]);
                double f = (v - a.At) / (b.At - a.At);
                return ((byte)(a.R + f * (b.R - a.R)), (byte)(a.G + f * (b.G - a.G)), (byte)(a.B + f * (b.B - a.B)));
            }
        return (blues[^1].R, blues[^1].G, blues[^1].B);
    }
}
