using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
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

    public static void Save(RgbImage im, string path, ImageFormatKind kind = ImageFormatKind.Png, Action<Image<Rgb24>>? edit = null)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        using var image = Image.LoadPixelData<Rgb24>(im.Pixels, im.Width, im.Height);
        edit?.Invoke(image);
        switch (kind)
        {
            case ImageFormatKind.Png: image.Save(path, new PngEncoder()); break;
            case ImageFormatKind.Bmp: image.Save(path, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 }); break;
            default: image.Save(path, new JpegEncoder { Quality = 95 }); break;
        }
    }

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

public enum ImageFormatKind { Png, Jpeg, Bmp }
