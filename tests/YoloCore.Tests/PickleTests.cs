using System.IO.Compression;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using YoloCore.Nn.IO;

namespace YoloCore.Tests;

/// The pickle reader and the .pt reader, on what Python writes (Fixtures/pickle_golden.py) and on
/// broken or hostile files: each refused with a message that says what is wrong, nothing run.
public class PickleTests : IDisposable
{
    static readonly string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");
    readonly string root = Path.Combine(Path.GetTempPath(), $"yolocore-pickle-{Guid.NewGuid():N}");

    public PickleTests() => Directory.CreateDirectory(root);

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    static PickleReader Reader(string source = "test") => new(source, (PickleGlobal g, object?[] a, out object? r) =>
    {
        r = g is { Module: "_codecs", Name: "encode" } && a[0] is string s ? Encoding.Latin1.GetBytes(s) : null;
        return r is not null;
    }, pid => pid);

    /// Our values as pickle_golden.py's as_json writes Python's.
    static JsonNode? Json(object? v) => v switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        BigInteger b => new JsonObject { ["bigint"] = b.ToString() },
        double d => JsonValue.Create(d),
        string s => JsonValue.Create(s),
        byte[] bytes => new JsonObject { ["bytes"] = Convert.ToBase64String(bytes) },
        object?[] t => new JsonArray(t.Select(Json).ToArray()),
        List<object?> l => new JsonArray(l.Select(Json).ToArray()),
        Dictionary<object, object?> d => new JsonObject(d.Select(kv => KeyValuePair.Create((string)kv.Key, Json(kv.Value)))),
        _ => throw new InvalidOperationException($"unexpected {v.GetType()}"),
    };

    /// JSON equality with numbers compared by value (Python writes 0.0 where we write 0).
    static void Same(JsonNode? want, JsonNode? got, string where)
    {
        switch (want)
        {
            case null: Assert.True(got is null, $"{where}: expected null, got {got?.ToJsonString()}"); break;
            case JsonObject o:
                var g = Assert.IsType<JsonObject>(got);
                Assert.Equal(o.Select(kv => kv.Key), g.Select(kv => kv.Key));
                foreach (var (k, v) in o) Same(v, g[k], $"{where}.{k}");
                break;
            case JsonArray a:
                var ga = Assert.IsType<JsonArray>(got);
                Assert.True(a.Count == ga.Count, $"{where}: {ga.Count} items, expected {a.Count}");
                for (int i = 0; i < a.Count; i++) Same(a[i], ga[i], $"{where}[{i}]");
                break;
            default:
                var w = want.AsValue();
                var gv = Assert.IsAssignableFrom<JsonValue>(got);
                double Number(JsonValue v) => double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
                if (w.GetValueKind() == JsonValueKind.Number) Assert.True(Number(w) == Number(gv), $"{where}: {gv}, expected {w}");
                else Assert.True(w.ToJsonString() == gv.ToJsonString(), $"{where}: {gv.ToJsonString()}, expected {w.ToJsonString()}");
                break;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void EveryProtocolReadsToPythonsValue(int protocol)
    {
        var golden = JsonNode.Parse(File.ReadAllText(Path.Combine(fixtures, "pickle_protocols.json")))!;
        var bytes = Convert.FromBase64String(golden["pickles"]![protocol.ToString()]!.GetValue<string>());
        var value = Reader().Load(bytes);
        Same(golden["expected"], Json(value), "value");
        // The memo: both entries of "shared" are one list, as in Python.
        var shared = (List<object?>)((Dictionary<object, object?>)value!)["shared"]!;
        Assert.Same(shared[0], shared[1]);
    }

    [Fact]
    public void APyTorchStateDictReadsWithViewsOffsetsAndEveryDtype()
    {
        using var ckpt = TorchCheckpoint.Open(Path.Combine(fixtures, "tiny_state_dict.pt"));
        var entries = TorchCheckpoint.StateDict(ckpt.Model(emaFirst: true));
        Assert.Equal(["w", "half", "transposed", "offset", "count", "mask"], entries.Select(e => e.Name));
        using var scope = TensorScope.Begin();
        var t = entries.ToDictionary(e => e.Name, e => ckpt.Load(e.Tensor));
        try
        {
            var w = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
            Assert.Equal(w, t["w"].ToArray<float>());
            Assert.Equal(new Shape(4, 3), t["transposed"].Shape);
            Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)(i % 3 * 4 + i / 3)), t["transposed"].ToArray<float>());
            Assert.Equal([5f, 6f, 9f, 10f], t["offset"].ToArray<float>());
            Assert.Equal(DType.Float16, t["half"].DType);
            Assert.Equal([0.5, -2.0, 65504.0], t["half"].ToDoubles());
            Assert.Equal(DType.Int32, t["count"].DType);
            Assert.Equal([7], t["count"].ToArray<int>());
            Assert.Equal([1, 0, 1], t["mask"].ToArray<byte>().Select(b => (int)b));
        }
        finally { foreach (var v in t.Values) v.Dispose(); }
    }

    string Zip(string name, params (string Entry, byte[] Data)[] entries)
    {
        string path = Path.Combine(root, name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (entry, data) in entries)
        {
            using var s = zip.CreateEntry(entry, CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
        return path;
    }

    static byte[] Pickle(string text) => Encoding.Latin1.GetBytes(text);

    [Fact]
    public void BrokenAndHostileFilesAreRefusedWithWhatIsWrong()
    {
        string Message(string path) => Assert.Throws<InvalidDataException>(() => WeightsFile.Read(path).Dispose()).Message;

        var real = File.ReadAllBytes(Path.Combine(fixtures, "tiny_state_dict.pt"));
        string truncated = Path.Combine(root, "truncated.pt");
        File.WriteAllBytes(truncated, real[..(real.Length / 2)]);
        Assert.Contains("not a zip archive", Message(truncated));

        Assert.Contains("zip without a data.pkl", Message(Zip("nopkl.pt", ("archive/readme.txt", "hi"u8.ToArray()))));
        Assert.Contains("unknown pickle opcode 0xff", Message(Zip("opcode.pt", ("archive/data.pkl", [0x80, 0x02, 0xFF]))));
        Assert.Contains("cut short", Message(Zip("cut.pt", ("archive/data.pkl", Pickle("\u0080\u0002}q\u0000(X\u0001\u0000\u0000\u0000a")))));

        // Globals that run code are refused by name, and nothing runs: the command would make a file.
        string marker = Path.Combine(root, "ran");
        foreach (var (module, name) in new[] { ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("subprocess", "call") })
        {
            string command = $"touch {marker}";
            // PROTO 2, GLOBAL module name, BINUNICODE command, TUPLE1, REDUCE, STOP (C#'s \x takes up to
            // four hex digits, hence \u).
            var pkl = Pickle($"\u0080\u0002c{module}\n{name}\nq\u0000X{(char)command.Length}\u0000\u0000\u0000{command}q\u0001\u0085q\u0002Rq\u0003.");
            var m = Message(Zip($"{module}-{name}.pt", ("archive/data.pkl", pkl)));
            Assert.Contains($"asks for {module}.{name}", m);
            Assert.Contains("nothing was run", m);
        }
        Assert.False(File.Exists(marker));

        // A storage shorter than the tensor it backs (the 3×4 float32 matrix, 48 bytes, given 20).
        string shortStorage = Path.Combine(root, "short.pt");
        File.WriteAllBytes(shortStorage, real);
        using (var zip = ZipFile.Open(shortStorage, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("tiny_state_dict/data/0")!;
            entry.Delete();
            using var s = zip.CreateEntry("tiny_state_dict/data/0").Open();
            s.Write(new byte[20]);
        }
        Assert.Contains("storage 0 has 20 bytes", Message(shortStorage));

        string notPt = Path.Combine(root, "text.pt");
        File.WriteAllText(notPt, "hello");
        Assert.Contains("not a PyTorch checkpoint", Message(notPt));
    }

    [Fact]
    public void AYoloV5CheckpointGivesItsModelConfigNamesAndEmaWeights()
    {
        string pt = Path.Combine(Golden.GoldenCase.Directory, "val_synth_n3", "weights.pt");
        using var file = WeightsFile.Read(pt, emaFirst: true);
        Assert.Equal(["rectangle", "ellipse", "triangle"], file.Names!);
        Assert.Equal(3, file.ClassCount);
        var config = YoloCore.Training.WeightsMetadata.ConfigOf(file)!;
        Assert.Equal((0.33, 0.25), (config.DepthMultiple, config.WidthMultiple));
        Assert.Contains(file.Entries, e => e.Name == "model.24.anchors");
        Assert.Contains(file.Entries, e => e.Name == "model.0.bn.num_batches_tracked" && e.Tensor.DType == DType.Int32);
        Assert.All(file.Entries.Where(e => e.Name.EndsWith(".weight")), e => Assert.Equal(DType.Float16, e.Tensor.DType)); // upstream saves .half()
    }
}
