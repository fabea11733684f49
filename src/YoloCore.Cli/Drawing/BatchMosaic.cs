namespace YoloCore.Cli.Drawing;

/// YOLOv5's plot_images (train_batch0..2.jpg, val_batchN_labels/pred.jpg): up to 16 images in a
/// square grid on white, shrunk so the grid is at most 1920 pixels wide, each with its file name and
/// its boxes and class names drawn, so a user can see what the augmentations feed the model and
/// what it predicts. Predictions (with confidences) show "name conf" and only above 0.25.
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
        double scale = Math.Min(1.0, MaxSize / (double)grid / Math.Max(height, width));
        int th = (int)Math.Ceiling(height * scale), tw = (int)Math.Ceiling(width * scale);
        var canvas = new Canvas(grid * tw, grid * th);
        canvas.Fill(White);
        int line = Math.Max(1, (int)Math.Round(Math.Max(tw, th) / 320.0));
        for (int i = 0; i < n; i++)
        {
            int x0 = i % grid * tw, y0 = i / grid * th;
            var image = images.Slice(i * height * width * 3, height * width * 3);
            for (int y = 0; y < th; y++)
            {
                int sy = Math.Min(height - 1, (int)(y / scale));
                for (int x = 0; x < tw; x++)
                {
                    int o = (sy * width + Math.Min(width - 1, (int)(x / scale))) * 3;
                    canvas.Set(x0 + x, y0 + y, (image[o], image[o + 1], image[o + 2]));
                }
            }
            for (int t = 0; t + 5 < targets.Length; t += 6)
            {
                if ((int)targets[t] != i || confidence is not null && confidence[t / 6] <= 0.25) continue;
                int cls = (int)targets[t + 1];
                double cx = targets[t + 2] * tw, cy = targets[t + 3] * th, w = targets[t + 4] * tw, h = targets[t + 5] * th;
                int bx = x0 + (int)(cx - w / 2), by = y0 + (int)(cy - h / 2);
                var colour = Palette.Of(cls);
                canvas.DrawRect(bx, by, x0 + (int)(cx + w / 2), y0 + (int)(cy + h / 2), colour, line);
                string label = confidence is null ? Palette.Name(names, cls)
                    : $"{Palette.Name(names, cls)} {confidence[t / 6].ToString("F1", System.Globalization.CultureInfo.InvariantCulture)}";
                canvas.DrawText(bx + 2, Math.Max(y0, by - BitmapFont.Height - 2), label, colour);
            }
            string file = i < paths.Count ? Path.GetFileName(paths[i]) : "";
            canvas.DrawText(x0 + 4, y0 + 4, file.Length > 40 ? file[..40] : file, (220, 220, 220));
            canvas.DrawRect(x0, y0, x0 + tw - 1, y0 + th - 1, White, 2);
        }
        canvas.Save(outPath);
    }
}
