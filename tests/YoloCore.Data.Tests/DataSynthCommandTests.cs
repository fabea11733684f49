using YoloCore.Cli;
using YoloCore.Data;

namespace YoloCore.Data.Tests;

public class DataSynthCommandTests
{
    [Fact]
    public void WritesTheDatasetAndRejectsBadArguments()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Program.Main(["data", "synth", "--out", dir.Path, "--train", "6", "--val", "2", "--img", "128", "--seed", "4"]));
        var config = DatasetConfig.Load(Path.Combine(dir.Path, "data.yaml"));
        Assert.Equal(6, Directory.GetFiles(config.Train[0]).Length);
        Assert.Equal(2, Directory.GetFiles(config.Val[0]).Length);
        Assert.Equal(0, Program.Main(["data", "synth", "--help"]));
        Assert.Equal(2, Program.Main(["data", "synth", "--train", "5"]));                   // no --out
        Assert.Equal(2, Program.Main(["data", "synth", "--out", dir.Path, "--imgs", "5"])); // misspelt
        Assert.Equal(2, Program.Main(["data", "synth", "--out", dir.Path, "--img", "10"]));
    }
}
