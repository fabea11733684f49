using YoloCore.Data;

namespace YoloCore.Cli.Drawing;

/// YOLOv5's plot_images (train_batch0..2.jpg, val_batchN_labels/pred.jpg): up to 16 images in a
/// square grid on white, shrunk (bilinear) so the grid is at most 1920 pixels wide, each with a
/// white border, its file name, and its boxes with class names, so a user can see what the
/// augmentations feed the model and what it predicts. Predictions (with confidences) show
/// "name conf" and only above 0.25. Font size (h + w) · grid · 0.01, lines a tenth of it.
public static class BatchMosaic
{
    const int MaxSize = 1920, MaxImages = 16;
    static readonly (byte, byte, byte) White = (255, 255, 255);

    /// images: [count, height, width, 3] uint8; targets: rows of (image, class, xc, yc, w, h)
    /// normalised to the image; confidence: one per row for predictions, null for labels.
    public static void Render(ReadOnlySpan<byte> images, int count, int height, int width, ReadOnlySpan<float> targets,
        IReadOnlyList<string> names, IReadOnlyList<string> paths, string outPath, IReadOnlyList<double>? confidence = null)
    {
        int n = Math.Min(count, MaxImages), grid = (int)Math.Ceiling(Math.Sqrt(n));
        double scale = MaxSize / (double)grid / Math.Max(height, width);
        int h = height, w = width;
        if (scale < 1) (h, w) = ((int)Math.Ceiling(scale * height), (int)Math.Ceiling(scale * width));
        using var mosaic = RgbImage.Filled(grid * w, grid * h, 255);
        for (int i = 0; i < n; i++)
        {
            using var tile = new RgbImage(width, height);
            images.Slice(i * height * width * 3, height * width * 3).CopyTo(tile.Pixels);
            using var fitted = scale < 1 ? Resize.Bilinear(tile, w, h) : null;
            var src = fitted ?? tile;
            int x0 = i % grid * w, y0 = i / grid * h;
            for (int y = 0; y < h; y++) src.Row(y).CopyTo(mosaic.Pixels.Slice(((y0 + y) * mosaic.Width + x0) * 3, w * 3));
        }
        int fs = (int)((h + w) * grid * 0.01);
        using var a = new Annotator(mosaic, lineWidth: (int)Math.Round(fs / 10.0), fontSize: fs);
        for (int i = 0; i < n; i++)
        {
            int x0 = i % grid * w, y0 = i / grid * h;
            a.Rectangle(x0, y0, x0 + w, y0 + h, White, 2);
            string file = i < paths.Count ? Path.GetFileName(paths[i]) : "";
            a.Text(x0 + 5, y0 + 5, file.Length > 40 ? file[..40] : file, (220, 220, 220));
            for (int t = 0; t + 5 < targets.Length; t += 6)
            {
                if ((int)targets[t] != i || confidence is not null && confidence[t / 6] <= 0.25) continue;
                int cls = (int)targets[t + 1];
                double cx = targets[t + 2] * w, cy = targets[t + 3] * h, bw = targets[t + 4] * w, bh = targets[t + 5] * h;
                string label = confidence is null ? Palette.Name(names, cls)
                    : $"{Palette.Name(names, cls)} {confidence[t / 6].ToString("F1", System.Globalization.CultureInfo.InvariantCulture)}";
                a.BoxLabel((float)(x0 + cx - bw / 2), (float)(y0 + cy - bh / 2), (float)(x0 + cx + bw / 2), (float)(y0 + cy + bh / 2), label, Palette.Of(cls));
            }
        }
        a.Save(outPath);
    }
}
