using YoloCore.Cli.Drawing;
using YoloCore.Data;

namespace YoloCore.Tests;

/// The run folder's images, read back pixel by pixel where it matters.
public class RunPlotTests
{
    [Fact]
    public void ImagesTileASquareGridWithTheirLabelBoxesInClassColours()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mosaic-{Guid.NewGuid():N}.png");
        try
        {
            const int n = 5, h = 48, w = 64;
            var images = new byte[n * h * w * 3];
            Array.Fill(images, (byte)90);
            float[] targets = [4, 2, 0.5f, 0.5f, 0.5f, 0.5f]; // image 4, class 2, centred, half size
            BatchMosaic.Render(images, n, h, w, targets, ["a", "b", "c"], [], path);
            using var png = ImageDecoder.Decode(path);
            Assert.Equal((3 * w, 3 * h), (png.Width, png.Height)); // 5 images → a 3 × 3 grid
            var colour = Palette.Of(2);
            // Image 4 sits in column 1, row 1; its box's left edge runs down x = 64 + 16.
            int o = ((h + h / 2) * png.Width + w + w / 4) * 3;
            Assert.Equal(colour, (png.Pixels[o], png.Pixels[o + 1], png.Pixels[o + 2]));
            int inside = ((h + h / 2) * png.Width + w + w / 2) * 3; // the box is drawn, not filled
            Assert.Equal((byte)90, png.Pixels[inside]);
            int empty = ((2 * h + h / 2) * png.Width + 2 * w + w / 2) * 3; // the ninth tile stays white
            Assert.Equal((byte)255, png.Pixels[empty]);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void LabelsPlotBarsScaleToTheMostFrequentClass()
    {
        string path = Path.Combine(Path.GetTempPath(), $"labels-{Guid.NewGuid():N}.png");
        try
        {
            var boxes = new List<(int, float, float, float, float)>();
            for (int i = 0; i < 30; i++) boxes.Add((1, 0.5f, 0.5f, 0.2f, 0.1f));
            for (int i = 0; i < 10; i++) boxes.Add((0, 0.25f, 0.75f, 0.1f, 0.3f));
            LabelsPlot.Render(boxes, 3, ["a", "b", "c"], path);
            using var png = ImageDecoder.Decode(path);
            Assert.Equal((1600, 1600), (png.Width, png.Height)); // YOLOv5's 8 × 8 inches at 200 dpi
            // In the top-left panel, each class's bar is the column of pixels in its colour.
            int Height((byte R, byte G, byte B) colour)
            {
                int top = int.MaxValue, bottom = -1;
                for (int y = 0; y < 800; y++)
                    for (int x = 0; x < 800; x++)
                    {
                        int o = (y * png.Width + x) * 3;
                        if (Math.Abs(png.Pixels[o] - colour.R) + Math.Abs(png.Pixels[o + 1] - colour.G) + Math.Abs(png.Pixels[o + 2] - colour.B) > 6) continue;
                        top = Math.Min(top, y);
                        bottom = Math.Max(bottom, y);
                    }
                return bottom < 0 ? 0 : bottom - top + 1;
            }
            int b = Height(Palette.Of(1)), a = Height(Palette.Of(0));
            Assert.True(b > 300, $"the bar of the most frequent class is {b} pixels high");
            Assert.InRange((double)a / b, 0.30, 0.37); // 10 boxes against 30
            Assert.Equal(0, Height(Palette.Of(2)));     // class 2: none
        }
        finally { File.Delete(path); }
    }
}
