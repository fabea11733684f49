using YoloCore.Data;

namespace YoloCore.Data.Tests;

/// A temporary folder deleted at the end of the test.
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "yolocore-data-test-" + Guid.NewGuid().ToString("N")[..12]);
    public TempDir() => Directory.CreateDirectory(Path);
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

public static class TestFiles
{
    /// ../shared/datasets beside the repository root (found by walking up to YoloCore.sln), or
    /// $YOLOCORE_DATASETS_DIR.
    public static string DatasetsDir
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("YOLOCORE_DATASETS_DIR");
            if (!string.IsNullOrEmpty(env)) return env;
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "YoloCore.sln"))) dir = dir.Parent;
            if (dir is null) throw new DirectoryNotFoundException("YoloCore.sln not found above " + AppContext.BaseDirectory);
            return System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "datasets"));
        }
    }

    public static string Coco128Yaml => System.IO.Path.Combine(DatasetsDir, "coco128.yaml");

    /// Writes PNG or JPEG (quality 95) by the path's extension.
    public static void Save(RgbImage im, string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        ImageEncoder.Save(im, path);
    }

    /// The fixtures of decode_golden.py (copied beside the test assembly).
    public static string DecodeFixtures => System.IO.Path.Combine(AppContext.BaseDirectory, "decode");

    /// Paints box [x1, x2) × [y1, y2) in colour c.
    public static void Fill(RgbImage im, int x1, int y1, int x2, int y2, (byte, byte, byte) c)
    {
        for (int y = y1; y < y2; y++)
            for (int x = x1; x < x2; x++) im[x, y] = c;
    }

    public static string LabelLine(int cls, double x1, double y1, double x2, double y2, int w, int h) =>
        FormattableString.Invariant($"{cls} {(x1 + x2) / 2 / w} {(y1 + y2) / 2 / h} {(x2 - x1) / w} {(y2 - y1) / h}");

    /// Writes a good PNG image with one box and its label at root/images/{split}/{name}.png.
    public static void WriteGood(string root, string split, string name, int w = 64, int h = 48)
    {
        var im = RgbImage.Filled(w, h, 90);
        Fill(im, 10, 10, 30, 30, (255, 0, 0));
        Save(im, System.IO.Path.Combine(root, "images", split, name + ".png"));
        WriteLabel(root, split, name, LabelLine(0, 10, 10, 30, 30, w, h));
        im.Dispose();
    }

    public static void WriteLabel(string root, string split, string name, string text)
    {
        var p = System.IO.Path.Combine(root, "labels", split, name + ".txt");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
    }
}
