using System.CommandLine;
using YoloCore.Cli;
using YoloCore.Cli.Commands;
using YoloCore.Cli.Drawing;
using YoloCore.Data;

namespace YoloCore.Tests;

/// The command line as YOLOv5 users type it: upstream's flag names and aliases, both value forms,
/// suggestions for typos, clear messages for bad values; and text that renders without fonts.
public class CommandLineTests
{
    static (int Code, string Stderr) Yolocore(params string[] args)
    {
        var stderr = Console.Error;
        var e = new StringWriter();
        Console.SetError(e);
        try { return (Program.Main(args), e.ToString()); }
        finally { Console.SetError(stderr); }
    }

    [Theory]
    [InlineData("--img", "320")]
    [InlineData("--imgsz", "320")]
    [InlineData("--img-size", "320")]
    [InlineData("--imgsz=320", null)]
    [InlineData("--img=320", null)]
    public void EveryImageSizeAliasParsesInBothForms(string flag, string? value)
    {
        foreach (var command in new[] { TrainCommand.Create(), ValCommand.Create(), DetectCommand.Create(), BenchCommand.Create() })
        {
            var r = command.Parse(value is null ? [flag] : [flag, value]);
            Assert.Empty(r.Errors);
            var got = r.GetValue<int?>("--imgsz") ?? r.GetValue<int>("--imgsz");
            Assert.Equal(320, got);
        }
    }

    [Theory]
    [InlineData("--batch-size")]
    [InlineData("--batch")]
    public void BatchSizeParsesUnderBothNames(string flag)
    {
        Assert.Equal(24, TrainCommand.Create().Parse([flag, "24"]).GetValue<int?>("--batch-size"));
        Assert.Equal(24, ValCommand.Create().Parse([flag, "24"]).GetValue<int>("--batch-size"));
    }

    [Theory]
    [InlineData("train", "--imgz", "--imgsz")]
    [InlineData("train", "--epoch", "--epochs")]
    [InlineData("val", "--conf-thresh", "--conf-thres")]
    [InlineData("detect", "--save-text", "--save-txt")]
    [InlineData("train", "--weigths", "--weights")]
    public void TyposGetASuggestion(string command, string typo, string suggestion)
    {
        var (code, stderr) = Yolocore(command, typo, "1");
        Assert.Equal(2, code);
        Assert.Contains($"unknown option {typo}", stderr);
        Assert.Contains(suggestion, stderr[stderr.IndexOf("did you mean", StringComparison.Ordinal)..]);
    }

    [Fact]
    public void MissingAndMalformedValuesNameTheFlag()
    {
        Assert.Equal((2, "yolocore train: --epochs needs an integer value\n"), Normalise(Yolocore("train", "--epochs")));
        Assert.Equal((2, "yolocore train: --epochs needs an integer value, got 'abc'\n"), Normalise(Yolocore("train", "--epochs=abc")));
        Assert.Equal((2, "yolocore val: --conf-thres needs a number value, got 'high'\n"), Normalise(Yolocore("val", "--conf-thres", "high")));
        Assert.Equal((2, "yolocore detect: --classes takes non-negative integers like 0,2; got 'two'\n"), Normalise(Yolocore("detect", "--classes", "two")));
        var (code, stderr) = Yolocore("trian");
        Assert.Equal(2, code);
        Assert.Contains("unknown command 'trian' (did you mean train?)", stderr);
        static (int, string) Normalise((int Code, string Stderr) r) => (r.Code, r.Stderr.Replace("\r\n", "\n"));
    }

    [Fact]
    public void EveryCommandPrintsItsHelp()
    {
        foreach (var c in new[] { "train", "val", "detect", "export", "launch", "bench", "doctor", "demo" })
            Assert.Equal(0, Yolocore(c, "--help").Code);
        Assert.Equal(0, Yolocore("data", "synth", "--help").Code);
    }

    /// The NoDependencies Skia build has no system fonts: labels come from the embedded face.
    [Fact]
    public void LabelTextRendersAntiAliasedWithoutSystemFonts()
    {
        Assert.Equal(LabelFont.Family, LabelFont.Typeface.FamilyName);
        using var white = RgbImage.Filled(200, 60, 255);
        using var a = new Annotator(white, lineWidth: 2, fontSize: 32);
        a.Text(5, 5, "Agy 0.95", (0, 0, 0));
        using var drawn = a.ToImage();
        int dark = 0, grey = 0;
        for (int i = 0; i < drawn.Width * drawn.Height; i++)
        {
            byte v = drawn.Pixels[3 * i];
            if (v < 64) dark++;
            else if (v < 230) grey++;
        }
        Assert.True(dark > 150, $"only {dark} glyph pixels were drawn");
        Assert.True(grey > 40, $"only {grey} edge pixels: the text is not anti-aliased");
        var (w, h) = a.Measure("Agy 0.95");
        Assert.InRange(w, 80, 180);
        Assert.InRange(h, 28, 45);
    }
}
