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

    /// Keeps the rows of epochs up to `epoch` (what the checkpoint being resumed has seen) and drops
    /// later ones and any line cut short, so a resumed run never writes an epoch twice. Returns how
    /// many lines went.
    public static int KeepUpTo(string path, int epoch)
    {
        if (!File.Exists(path)) return 0;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) return 0;
        var kept = lines.Skip(1).Where(l => TryParse(l) is { } r && r.Epoch <= epoch).ToList();
        int dropped = lines.Length - 1 - kept.Count;
        if (dropped == 0) return 0;
        File.WriteAllLines(path + ".tmp", [lines[0], .. kept]);
        File.Move(path + ".tmp", path, overwrite: true);
        return dropped;
    }

    static EpochResult? TryParse(string line)
    {
        var fields = line.Split(',');
        if (fields.Length != Columns.Length) return null;
        var v = new double[fields.Length];
        for (int i = 0; i < fields.Length; i++)
            if (!double.TryParse(fields[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out v[i])) return null;
        return new EpochResult((int)v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11..]);
    }

    /// The rows already written, for --resume to restore the history before appending.
    public static List<EpochResult> Read(string path)
    {
        if (!File.Exists(path)) return [];
        return File.ReadLines(path).Skip(1).Select(TryParse).OfType<EpochResult>().ToList();
    }
}
