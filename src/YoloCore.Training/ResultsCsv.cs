using System.Globalization;

namespace YoloCore.Training;

/// One epoch's line of results.csv.
public sealed record EpochResult(int Epoch, double TrainBox, double TrainObj, double TrainCls, double Precision, double Recall,
    double Map50, double Map, double ValBox, double ValObj, double ValCls, double[] Lr)
{
    /// YOLOv5's fitness: 0.1·mAP@0.5 + 0.9·mAP@0.5:0.95.
    public double Fitness => 0.1 * Map50 + 0.9 * Map;
}

/// results.csv with YOLOv5's columns and formatting (right-aligned to 20 characters).
public static class ResultsCsv
{
    public static readonly string[] Columns =
    [
        "epoch", "train/box_loss", "train/obj_loss", "train/cls_loss", "metrics/precision", "metrics/recall",
        "metrics/mAP_0.5", "metrics/mAP_0.5:0.95", "val/box_loss", "val/obj_loss", "val/cls_loss", "x/lr0", "x/lr1", "x/lr2",
    ];

    public static void Append(string path, EpochResult r)
    {
        bool header = !File.Exists(path);
        using var w = new StreamWriter(path, append: true);
        if (header) w.WriteLine(string.Join(",", Columns.Select(c => c.PadLeft(20))).TrimEnd(','));
        var values = new[] { r.TrainBox, r.TrainObj, r.TrainCls, r.Precision, r.Recall, r.Map50, r.Map, r.ValBox, r.ValObj, r.ValCls }
            .Concat(r.Lr).Select(v => PercentG(v, 5).PadLeft(20));
        w.WriteLine(r.Epoch.ToString(CultureInfo.InvariantCulture).PadLeft(20) + "," + string.Join(",", values));
    }

    /// Python's "%.{precision}g": fixed notation unless the exponent is below -4 or at least the
    /// precision, no trailing zeros, a two-digit signed exponent ("1e-05").
    public static string PercentG(double v, int precision)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        if (v == 0) return "0";
        string e = v.ToString("E" + (precision - 1), CultureInfo.InvariantCulture); // d.ddddE+xxx
        int exp = int.Parse(e[(e.IndexOf('E') + 1)..], CultureInfo.InvariantCulture);
        if (exp < -4 || exp >= precision)
        {
            string mantissa = e[..e.IndexOf('E')];
            if (mantissa.Contains('.')) mantissa = mantissa.TrimEnd('0').TrimEnd('.');
            return $"{mantissa}e{(exp < 0 ? "-" : "+")}{Math.Abs(exp):00}";
        }
        string f = v.ToString("F" + Math.Max(0, precision - 1 - exp), CultureInfo.InvariantCulture);
        return f.Contains('.') ? f.TrimEnd('0').TrimEnd('.') : f;
    }

    /// The rows already written, for --resume to restore the history before appending.
    public static List<EpochResult> Read(string path)
    {
        if (!File.Exists(path)) return [];
        return File.ReadLines(path).Skip(1).Where(l => l.Trim().Length > 0).Select(l =>
        {
            var v = l.Split(',').Select(s => double.Parse(s.Trim(), CultureInfo.InvariantCulture)).ToArray();
            return new EpochResult((int)v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11..]);
        }).ToList();
    }
}
