using YoloCore.Cli.Drawing;
using YoloCore.Data;

namespace YoloCore.Tests;

public class BatchMosaicTests
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
}
