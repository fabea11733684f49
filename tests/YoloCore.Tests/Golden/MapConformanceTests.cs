using System.Text.Json;
using YoloCore.Nn.Yolo;
using YoloCore.Training.Metrics;

namespace YoloCore.Tests.Golden;

/// The evaluator against YOLOv5's validator on every map_*.json in the golden folder.
public class MapConformanceTests
{
    public static IEnumerable<object[]> Cases()
    {
        var files = Directory.GetFiles(GoldenCase.Directory, "map_*.json").OrderBy(f => f).ToList();
        if (files.Count == 0) throw new FileNotFoundException($"no map_*.json in {GoldenCase.Directory}");
        return files.Select(f => new object[] { Path.GetFileName(f) });
    }

    /// The case's detections and labels through our evaluator, and the case's JSON root.
    static (DetectionMetrics Metrics, JsonElement Root) Evaluate(string file)
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenCase.Directory, file))).RootElement;
        var stats = new DetectionStats();
        foreach (var image in root.GetProperty("images").EnumerateArray())
        {
            var labels = image.GetProperty("labels").EnumerateArray().Select(l => l.EnumerateArray().Select(v => v.GetDouble()).ToArray())
                .Select(v => new GroundTruthBox((int)v[0], v[1], v[2], v[3], v[4])).ToList();
            var dets = image.GetProperty("detections").EnumerateArray().Select(d => d.EnumerateArray().Select(v => v.GetDouble()).ToArray())
                .Select(v => new Detection(v[0], v[1], v[2], v[3], v[4], (int)v[5])).ToList();
            stats.Add(dets, labels);
        }
        return (stats.Compute(), root);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MetricsMatchYoloV5sValidator(string file)
    {
        var (m, root) = Evaluate(file);
        var e = root.GetProperty("expected");
        void Near(string what, double expected, double actual) =>
            Assert.True(Math.Abs(expected - actual) <= 1e-6, $"{file}: {what} {actual:G10}, YOLOv5 {expected:G10}");
        Near("mp", e.GetProperty("mp").GetDouble(), m.MeanPrecision);
        Near("mr", e.GetProperty("mr").GetDouble(), m.MeanRecall);
        Near("map50", e.GetProperty("map50").GetDouble(), m.Map50);
        Near("map", e.GetProperty("map").GetDouble(), m.Map);
        var perClass = e.GetProperty("per_class");
        Assert.Equal(perClass.EnumerateObject().Count(), m.Classes.Length);
        for (int i = 0; i < m.Classes.Length; i++)
        {
            var c = perClass.GetProperty(m.Classes[i].ToString());
            Near($"class {m.Classes[i]} ap50", c.GetProperty("ap50").GetDouble(), m.Ap50(i));
            Near($"class {m.Classes[i]} ap", c.GetProperty("ap").GetDouble(), m.ApMean(i));
        }
    }

    /// The plotted curves agree with the reported numbers: the area under each class's PR curve is
    /// its AP@0.5 (up to the 1000- vs 101-point sampling), and P, R, F1 at the reported operating
    /// point are the reported ones.
    [Theory]
    [MemberData(nameof(Cases))]
    public void CurvesAgreeWithTheReportedMetrics(string file)
    {
        var (m, _) = Evaluate(file);
        var c = m.Curves!;
        for (int i = 0; i < m.Classes.Length; i++)
        {
            var row = Enumerable.Range(0, c.X.Length).Select(k => c.PrecisionAtRecall[i, k]).ToArray();
            if (!double.IsFinite(row[0])) { Assert.Equal(0, m.Ap50(i)); continue; }
            double area = 0;
            for (int k = 0; k + 1 < row.Length; k++) area += (c.X[k + 1] - c.X[k]) * (row[k] + row[k + 1]) / 2;
            Assert.True(Math.Abs(area - m.Ap50(i)) < 0.02, $"class {m.Classes[i]}: area {area:F4} vs AP50 {m.Ap50(i):F4}");
            int at = Enumerable.Range(0, c.X.Length).First(k => Math.Abs(c.F1AtConf[i, k] - m.F1[i]) < 1e-12 && Math.Abs(c.PrecisionAtConf[i, k] - m.Precision[i]) < 1e-12);
            Assert.Equal(m.Recall[i], c.RecallAtConf[i, at], 12);
        }
    }
}
