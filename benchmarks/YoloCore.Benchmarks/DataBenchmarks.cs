using BenchmarkDotNet.Attributes;
using YoloCore.Data;

namespace YoloCore.Benchmarks;

/// BenchmarkDotNet view of the data pipeline's kernels on a fixed synthetic 640×480 image (no disk):
/// the resize, warp, HSV and letterbox steps that the --data-table mode measures end to end.
[MemoryDiagnoser]
public class DataBenchmarks
{
    RgbImage image = null!, canvas = null!;
    double[] mosaicWarp = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        image = new RgbImage(640, 480);
        for (int i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (byte)rng.NextInt(256);
        canvas = RgbImage.Filled(1280, 1280, 114);
        // A typical mosaic warp: scale 0.8 about the centre, cropped to 640×640.
        mosaicWarp = [0.8, 0, 320 - 0.8 * 640, 0, 0.8, 320 - 0.8 * 640, 0, 0, 1];
    }

    [GlobalCleanup]
    public void Cleanup() { image.Dispose(); canvas.Dispose(); }

    [Benchmark] public void ResizeBilinear640To853() => Resize.Bilinear(image, 853, 640).Dispose();
    [Benchmark] public void ResizeArea640To427() => Resize.Area(image, 427, 320).Dispose();
    [Benchmark] public void LetterboxTo640() { Letterbox.Apply(image, 640, 640, out _).Dispose(); }
    [Benchmark] public void MosaicWarp1280To640() => Warp.Apply(canvas, mosaicWarp, 640, 640).Dispose();
    [Benchmark] public void Hsv640x480() => HsvAugment.ApplyGains(image, 1.01, 0.9, 1.1);
}
