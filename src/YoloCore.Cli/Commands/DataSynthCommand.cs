using System.Diagnostics;
using YoloCore.Data;

namespace YoloCore.Cli.Commands;

/// `yolocore data synth --out DIR`: writes the synthetic shapes dataset (rectangles, ellipses,
/// triangles on textured backgrounds, exact labels) as a YOLO dataset with its data.yaml.
public static class DataSynthCommand
{
    public static int Run(string[] argv)
    {
        var args = new CliArgs(argv);
        string outDir = args.String("out", "");
        int train = args.Int("train", 400);
        int val = args.Int("val", 100);
        int img = args.Int("img", 320);
        int seed = args.Int("seed", 0);
        if (args.Help)
        {
            Console.WriteLine("usage: yolocore data synth --out DIR [--train 400] [--val 100] [--img 320] [--seed 0]");
            Console.WriteLine("  writes DIR/images/{train,val}, DIR/labels/{train,val} and DIR/data.yaml:");
            Console.WriteLine("  coloured rectangles (class 0), ellipses (1) and triangles (2) on textured backgrounds");
            return 0;
        }
        args.RejectUnknown();
        if (outDir.Length == 0) throw new CliUsageException("--out DIR is required");
        if (train < 1 || val < 1) throw new CliUsageException("--train and --val must be at least 1");
        if (img < 64 || img > 4096) throw new CliUsageException("--img must be between 64 and 4096");

        var clock = Stopwatch.StartNew();
        string yaml = SyntheticDataset.Generate(outDir, train, val, img, seed);
        Console.WriteLine($"wrote {train} train + {val} val images ({img}x{img}) in {clock.Elapsed.TotalSeconds:F1} s: {yaml}");
        return 0;
    }
}
