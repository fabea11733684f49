namespace YoloCore.Cuda.Tests;

/// The implicit-GEMM tile chosen per layer shape and kept in a file per card (TileChoices): timed
/// once, read back in the next run without timing, and a damaged file costs a counted warning and
/// a new timing, never a wrong tile.
public class TileChoicesTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("yolocore-tiles-").FullName;
    string File => Path.Combine(dir, "sub", "conv-tiles-card-sm90.tsv");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly Dictionary<string, double> speed = new() { ["n128"] = 3.0, ["n64"] = 1.5, ["n32"] = 2.0 };

    [Fact]
    public void TheFastestTileIsTimedOnceAndRememberedAcrossRuns()
    {
        var timed = new List<string>();
        double Time(string tile) { timed.Add(tile); return speed[tile]; }
        var first = new TileChoices(File);
        Assert.Equal("n64", first.Choose("forward a", ["n128", "n64", "n32"], Time));
        Assert.Equal("n64", first.Choose("forward a", ["n128", "n64", "n32"], Time));
        Assert.Equal(3, timed.Count); // each candidate once, for the first call only
        Assert.Equal(1, first.Timed);

        var second = new TileChoices(File);
        Assert.Equal("n64", second.Choose("forward a", ["n128", "n64", "n32"], _ => throw new InvalidOperationException("timed again")));
        Assert.Equal(0, second.Timed);
        // One candidate: nothing to time or store.
        Assert.Equal("n32", second.Choose("forward b", ["n32"], _ => throw new InvalidOperationException("timed")));
        Assert.Single(System.IO.File.ReadAllLines(File));
    }

    [Fact]
    public void ADamagedFileIsWarnedAboutOnceAndItsShapesTimedAgain()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(File)!);
        System.IO.File.WriteAllText(File, "forward a\tn128\ngarbage line\nforward b\t\n\tn64\nforward c\tn16\n");
        var warnings = new List<string>();
        var choices = new TileChoices(File, warnings.Add);
        // a: from the file; b: malformed, timed; c: names a tile no longer offered, timed.
        Assert.Equal("n128", choices.Choose("forward a", ["n128", "n64"], _ => throw new InvalidOperationException("timed")));
        Assert.Equal("n64", choices.Choose("forward b", ["n128", "n64"], t => speed[t]));
        Assert.Equal("n64", choices.Choose("forward c", ["n128", "n64"], t => speed[t]));
        Assert.Equal(2, choices.Timed);
        var warning = Assert.Single(warnings);
        Assert.Contains("ignored 3 malformed lines", warning);
        Assert.Contains(File, warning);
        // The new choices were appended and win when the file is read again.
        var again = new TileChoices(File, warnings.Add);
        Assert.Equal("n64", again.Choose("forward c", ["n128", "n64"], _ => throw new InvalidOperationException("timed")));
    }
}
