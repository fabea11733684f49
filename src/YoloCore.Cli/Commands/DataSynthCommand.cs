using System.CommandLine;
using System.Diagnostics;
using YoloCore.Data;

namespace YoloCore.Cli.Commands;

/// `yolocore data synth --out DIR`: writes the synthetic shapes dataset (rectangles, ellipses,
/// triangles on textured backgrounds, exact labels) as a YOLO dataset with its data.yaml.
public sealed class DataSynthCommand
{
    readonly Option<string?> outDir = Opt.TextOrNull("out", "folder to write the dataset to");
    readonly Option<int> train = Opt.Int("train", "training images", 400);
    readonly Option<int> val = Opt.Int("val", "validation images", 100);
    readonly Option<int> img = Opt.Int("img", "image size in pixels", 320, "imgsz");
    readonly Option<int> seed = Opt.Int("seed", "random seed", 0);

    /// `yolocore data synth`.
    public static Command Create()
    {
        var d = new DataSynthCommand();
        var synth = new Command("synth", "write the synthetic shapes dataset (coloured rectangles, ellipses and triangles on textured backgrounds, " +
            "exact labels): DIR/images/{train,val}, DIR/labels/{train,val}, DIR/data.yaml") { d.outDir, d.train, d.val, d.img, d.seed };
        synth.SetAction(d.Run);
        return new Command("data", "data tools (data synth: the synthetic shapes dataset, the main job's default)") { synth };
    }

    int Run(ParseResult r)
    {
        string outDir = r.GetValue(this.outDir) ?? "";
        int train = r.GetValue(this.train), val = r.GetValue(this.val), img = r.GetValue(this.img), seed = r.GetValue(this.seed);
        if (outDir.Length == 0) throw new CliUsageException("--out DIR is required");
        if (train < 1 || val < 1) throw new CliUsageException("--train and --val must be at least 1");
        if (img < 64 || img > 4096) throw new CliUsageException("--img must be between 64 and 4096");

        var clock = Stopwatch.StartNew();
        string yaml = SyntheticDataset.Generate(outDir, train, val, img, seed);
        Console.WriteLine($"wrote {train} train + {val} val images ({img}x{img}) in {clock.Elapsed.TotalSeconds:F1} s: {yaml}");
        return 0;
    }
}
