using System.Text.Json;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;

namespace YoloCore.Tests.Golden;

/// NMS against upstream YOLOv5 v7.0's own non_max_suppression in float32 (Fixtures/nms_golden.py):
/// exactly the same rows in the same order, on predictions built for close calls (exact score
/// ties, IoUs near the thresholds, coordinates rounded by the class offset).
public class NmsFloat32Tests
{
    static readonly string dir = Path.Combine(AppContext.BaseDirectory, "Fixtures");
    static readonly JsonElement cases = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "nms_float32.json"))).RootElement.GetProperty("cases");

    static Dictionary<string, float[]> Load(out Dictionary<string, Shape> shapes)
    {
        var (list, _) = Safetensors.Load(Path.Combine(dir, "nms_float32.safetensors"));
        try
        {
            shapes = list.ToDictionary(e => e.Name, e => e.Tensor.Shape);
            return list.ToDictionary(e => e.Name, e => e.Tensor.ToArray<float>());
        }
        finally { foreach (var (_, t) in list) t.Dispose(); }
    }

    public static TheoryData<string> Names() => new(cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    [Theory]
    [MemberData(nameof(Names))]
    public void KeepsExactlyUpstreamsFloat32Rows(string name)
    {
        var t = Load(out var shapes);
        var c = cases.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var pred = t["pred"];
        int images = shapes["pred"][0], no = shapes["pred"][2], per = pred.Length / images;
        for (int b = 0; b < images; b++)
        {
            var ours = Nms.Run(pred.AsSpan(b * per, per), no, c.GetProperty("conf_thres").GetDouble(), c.GetProperty("iou_thres").GetDouble(),
                c.GetProperty("max_det").GetInt32(), agnostic: c.GetProperty("agnostic").GetBoolean(), multiLabel: c.GetProperty("multi_label").GetBoolean());
            var theirs = t[$"{name}.{b}"];
            Assert.Equal(theirs.Length / 6, ours.Count);
            for (int k = 0; k < ours.Count; k++)
            {
                var d = ours[k];
                var row = theirs.AsSpan(6 * k, 6);
                Assert.True((float)d.X1 == row[0] && (float)d.Y1 == row[1] && (float)d.X2 == row[2] && (float)d.Y2 == row[3] && (float)d.Score == row[4] && d.Class == (int)row[5],
                    $"{name}, image {b}, row {k}: ours ({d.X1}, {d.Y1}, {d.X2}, {d.Y2}, {d.Score}, {d.Class}), upstream ({string.Join(", ", row.ToArray())})");
            }
        }
    }

    [Fact]
    public void ArgsortOrdersTiesAsPyTorch()
    {
        var t = Load(out _);
        for (int k = 0; t.ContainsKey($"argsort.keys.{k}"); k++)
        {
            var expected = t[$"argsort.order.{k}"].Select(v => (int)v).ToArray();
            Assert.Equal(expected, TorchArgsort.Descending(t[$"argsort.keys.{k}"]));
            // The arrays have ties, so a stable sort would not do: the test can tell.
            var keys = t[$"argsort.keys.{k}"];
            if (keys.Length > 16) Assert.NotEqual(expected, Enumerable.Range(0, keys.Length).OrderByDescending(i => keys[i]).ToArray());
        }
    }
}
