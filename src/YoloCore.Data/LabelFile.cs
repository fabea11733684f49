using System.Globalization;

namespace YoloCore.Data;

/// The verdict on one label file, following YOLOv5's verify_image_label: Rows holds `class xc yc w h`
/// (normalised) five floats per box; Error makes the image corrupt (skipped); Warning is a repair
/// that kept the image (duplicates removed, zero-size boxes dropped).
public readonly record struct LabelParse(float[] Rows, string? Error, string? Warning)
{
    public int Count => Rows.Length / 5;
}

/// Parses and checks a YOLO label file: one `class xc yc w h` line per box, coordinates normalised
/// to [0, 1]. A line with more than 6 fields is a polygon (`class x1 y1 x2 y2 ...`) and becomes its
/// bounding box, as YOLOv5's segments2boxes does.
public static class LabelFile
{
    public static LabelParse Parse(string text, int classCount)
    {
        var rows = new List<float[]>();
        int lineNo = 0;
        foreach (var raw in text.Trim().Split('\n'))
        {
            lineNo++;
            var fields = raw.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0) continue;
            var v = new float[fields.Length];
            for (int i = 0; i < fields.Length; i++)
                if (!float.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !float.IsFinite(v[i]))
                    return Fail($"line {lineNo}: '{fields[i]}' is not a number");
            if (v.Length > 6 && v.Length % 2 == 1) v = PolygonToBox(v);
            else if (v.Length != 5) return Fail($"labels require 5 columns, {v.Length} columns detected (line {lineNo})");
            rows.Add(v);
        }
        if (rows.Count == 0) return new LabelParse([], null, null);

        foreach (var r in rows)
        {
            if (r.Any(x => x < 0)) return Fail($"negative label values {Fmt(r.Where(x => x < 0))}");
            if (r.Skip(1).Any(x => x > 1)) return Fail($"non-normalized or out of bounds coordinates {Fmt(r.Skip(1).Where(x => x > 1))}");
            if (r[0] != MathF.Floor(r[0]) || r[0] >= classCount) return Fail($"class {r[0].ToString("G6", CultureInfo.InvariantCulture)} outside [0, {classCount})");
        }

        var warnings = new List<string>();
        // np.unique(axis=0) keeps the first of identical rows and sorts them; sorting keeps the
        // result independent of line order, like YOLOv5's.
        var unique = rows.DistinctBy(r => (r[0], r[1], r[2], r[3], r[4])).ToList();
        if (unique.Count < rows.Count) warnings.Add($"{rows.Count - unique.Count} duplicate labels removed");
        if (unique.Count < rows.Count) unique.Sort(CompareRows);
        // A zero-width or zero-height box has no pixels to learn from; YOLOv5 would drop it later.
        int before = unique.Count;
        unique.RemoveAll(r => r[3] <= 0 || r[4] <= 0);
        if (unique.Count < before) warnings.Add($"{before - unique.Count} zero-size labels removed");

        var flat = new float[unique.Count * 5];
        for (int i = 0; i < unique.Count; i++) unique[i].CopyTo(flat, i * 5);
        return new LabelParse(flat, null, warnings.Count > 0 ? string.Join(", ", warnings) : null);
    }

    static int CompareRows(float[] a, float[] b)
    {
        for (int i = 0; i < 5; i++)
        {
            int c = a[i].CompareTo(b[i]);
            if (c != 0) return c;
        }
        return 0;
    }

    static float[] PolygonToBox(float[] v)
    {
        float x1 = float.MaxValue, y1 = float.MaxValue, x2 = float.MinValue, y2 = float.MinValue;
        for (int i = 1; i + 1 < v.Length; i += 2)
        {
            x1 = MathF.Min(x1, v[i]); x2 = MathF.Max(x2, v[i]);
            y1 = MathF.Min(y1, v[i + 1]); y2 = MathF.Max(y2, v[i + 1]);
        }
        return [v[0], (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1];
    }

    static LabelParse Fail(string reason) => new([], reason, null);

    static string Fmt(IEnumerable<float> xs) => "[" + string.Join(" ", xs.Take(4).Select(x => x.ToString("G6", CultureInfo.InvariantCulture))) + "]";
}
