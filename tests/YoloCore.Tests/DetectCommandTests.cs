using YoloCore.Cli;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;

namespace YoloCore.Tests;

/// `yolocore detect` in process: a freshly initialised yolov5n (3 classes) on synthetic images,
/// with a low threshold so that there is something to filter.
public class DetectCommandTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), $"yolocore-detect-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void ClassesFilterAndNosaveWriteOnlyTheAskedForLabels()
    {
        string data = Path.Combine(root, "shapes"), weights = Path.Combine(root, "w.safetensors");
        Assert.Equal(0, Program.Main(["data", "synth", "--out", data, "--train", "1", "--val", "2", "--img", "128"]));
        using (var model = new YoloModel(ModelConfig.Load("yolov5n").WithClasses(3))) StateDictIO.Save(model, weights);
        string[] Detect(string name, params string[] extra) =>
            ["detect", "--weights", weights, "--cfg", "yolov5n", "--data", Path.Combine(data, "data.yaml"), "--source", Path.Combine(data, "images", "val"),
             "--img", "128", "--conf-thres", "0.001", "--project", root, "--name", name, .. extra];
        static List<int> Classes(string dir) =>
            Directory.GetFiles(Path.Combine(dir, "labels")).SelectMany(File.ReadAllLines).Select(l => int.Parse(l.Split(' ')[0])).ToList();

        Assert.Equal(0, Program.Main(Detect("all")));
        var all = Classes(Path.Combine(root, "all"));
        Assert.True(all.Distinct().Count() > 1, $"expected several classes from an untrained model, got {string.Join(",", all.Distinct())}");
        Assert.Equal(2, Directory.GetFiles(Path.Combine(root, "all"), "*.jpg").Length);

        Assert.Equal(0, Program.Main(Detect("only2", "--classes", "2", "--nosave", "--hide-conf")));
        var only2 = Classes(Path.Combine(root, "only2"));
        Assert.NotEmpty(only2);
        Assert.All(only2, c => Assert.Equal(2, c));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "only2"), "*.jpg"));
        Assert.False(Directory.Exists(Path.Combine(root, "only2", "weights")));

        Assert.Equal(2, Program.Main(Detect("bad", "--classes", "two")));
    }
}
