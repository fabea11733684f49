using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;
using YoloCore.Tests.Golden;

namespace YoloCore.Tests;

public class SafetensorsTests
{
    [Fact]
    public void GoldenWeightsRoundTripBitForBit()
    {
        string name = GoldenCase.Discover().First();
        using var c = GoldenCase.Load(name);
        using var model = new YoloModel(ModelConfig.Load(c.Cfg).WithClasses(c.Nc));
        var unused = StateDictIO.Load(model, c.Tensors, prefix: "init.");
        Assert.DoesNotContain(unused, u => u.StartsWith("init."));
        string path = Path.Combine(Path.GetTempPath(), $"yolocore-roundtrip-{Guid.NewGuid():N}.safetensors");
        try
        {
            StateDictIO.Save(model, path);
            var (saved, _) = Safetensors.Load(path);
            try
            {
                var init = c.Tensors.Where(kv => kv.Key.StartsWith("init.")).ToDictionary(kv => kv.Key["init.".Length..], kv => kv.Value);
                Assert.Equal(init.Keys.OrderBy(k => k), saved.Select(s => s.Name).OrderBy(k => k));
                foreach (var (n, t) in saved)
                {
                    Assert.Equal(init[n].Shape, t.Shape);
                    Assert.Equal(init[n].ToArray<float>(), t.ToArray<float>()); // bit-identical
                }
                Assert.Equal(model.StateDict().Select(e => e.Name), saved.Select(s => s.Name)); // state-dict order
            }
            finally { foreach (var (_, t) in saved) t.Dispose(); }
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void EveryDTypeAndMetadataSurviveAWriteAndRead()
    {
        using var scope = TensorScope.Begin();
        string path = Path.Combine(Path.GetTempPath(), $"yolocore-st-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, [("a", Tensor.FromArray([1.5f, 2], 2)), ("b", Tensor.FromArray([7, 8, 9], 3, 1)),
                ("c", Tensor.FromArray([(Half)0.25], 1)), ("d", Tensor.FromArray([1e300, -1], 2)), ("e", Tensor.FromArray([(byte)3], 1))],
                new Dictionary<string, string> { ["format"] = "pt" });
            var (list, meta) = Safetensors.Load(path);
            Assert.Equal("pt", meta["format"]);
            Assert.Equal(["a", "b", "c", "d", "e"], list.Select(l => l.Name));
            Assert.Equal([7, 8, 9], list[1].Tensor.ToArray<int>());
            Assert.Equal(new Shape(3, 1), list[1].Tensor.Shape);
            Assert.Equal([1e300, -1], list[3].Tensor.ToArray<double>());
            foreach (var (_, t) in list) t.Dispose();
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void DamagedFilesAreRejectedWithTheReason()
    {
        string path = Path.Combine(Path.GetTempPath(), $"yolocore-bad-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, [1, 2, 3]);
            Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => Safetensors.Load(path)).Message);
            var header = System.Text.Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}");
            File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, 0, 0, 0, 0]);
            Assert.Contains("'w'", Assert.Throws<InvalidDataException>(() => Safetensors.Load(path)).Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void LoadingTheWrongModelNamesTheMismatches()
    {
        string name = GoldenCase.Discover().First();
        using var c = GoldenCase.Load(name);
        using var model = new YoloModel(ModelConfig.Load("yolov5s").WithClasses(c.Nc));
        var e = Assert.Throws<InvalidDataException>(() => StateDictIO.Load(model, c.Tensors, prefix: "init."));
        Assert.Contains("model.0.conv.weight", e.Message);
    }

    [Fact]
    public void UserConfigFilesLoadByPath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tiny-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, """
            nc: 2
            depth_multiple: 1.0
            width_multiple: 1.0
            anchors:
              - [10,13, 16,30]
              - [30,61, 62,45]
            backbone:
              [[-1, 1, Conv, [8, 3, 2]],
               [-1, 1, Conv, [16, 3, 2]],
               [-1, 1, C3, [16]],
               [-1, 1, Conv, [16, 3, 2]]]
            head:
              [[[2, 3], 1, Detect, [nc, anchors]]]
            """);
        try
        {
            using var model = new YoloModel(ModelConfig.Load(path));
            Assert.Equal([4.0, 8], model.Detect.Strides);
            Assert.Equal(2, model.Detect.Na);
            using var scope = TensorScope.Begin();
            var heads = model.ForwardHeads(Tensor.Zeros(new Shape(1, 32, 32, 3)));
            Assert.Equal(new Shape(1, 2, 8, 8, 7), heads[0].Shape);
        }
        finally { File.Delete(path); }
    }
}
