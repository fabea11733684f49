namespace YoloCore.Data;

/// An image after load_image's resize (longest side = img_size), with its boxes in its pixels.
/// Owned images are disposed by the user; cached ones (RAM image cache) are shared.
public readonly record struct LoadedImage(RgbImage Image, bool Owned, int OriginalWidth, int OriginalHeight, float[] Labels)
{
    public void Release() { if (Owned) Image.Dispose(); }
}

/// YOLOv5's load_mosaic: four images around a random centre (xc, yc) ∈ [s/2, 3s/2)² of a 2s×2s
/// canvas filled with 114 — the sample's own image and three picked uniformly from the dataset,
/// in shuffled order — then random_perspective with border −s/2 crops the result to s×s.
public static class Mosaic
{
    public static RgbImage Load(int index, int datasetCount, int size, Func<int, LoadedImage> load, Rng rng, AugmentHyp hyp, out List<LabelBox> boxes)
    {
        var canvas = BuildCanvas(index, datasetCount, size, load, rng, out boxes);
        try
        {
            return RandomPerspective.Apply(canvas, boxes, rng, hyp, -size / 2, -size / 2);
        }
        finally { canvas.Dispose(); }
    }

    /// The 2s×2s canvas and its boxes, before the perspective warp (exposed for tests).
    public static RgbImage BuildCanvas(int index, int datasetCount, int size, Func<int, LoadedImage> load, Rng rng, out List<LabelBox> boxes)
    {
        int s = size;
        int yc = (int)(s / 2.0 + rng.NextDouble() * s), xc = (int)(s / 2.0 + rng.NextDouble() * s);
        int[] indices = [index, rng.NextInt(datasetCount), rng.NextInt(datasetCount), rng.NextInt(datasetCount)];
        for (int i = indices.Length - 1; i > 0; i--)   // random.shuffle (Fisher-Yates)
        {
            int j = rng.NextInt(i + 1);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }
        var canvas = RgbImage.Filled(2 * s, 2 * s, Letterbox.Grey);
        boxes = [];
        for (int i = 0; i < 4; i++)
        {
            var li = load(indices[i]);
            try
            {
                var img = li.Image;
                int w = img.Width, h = img.Height;
                int x1a, y1a, x2a, y2a, x1b, y1b, x2b, y2b;
                switch (i)
                {
                    case 0: // top left
                        (x1a, y1a, x2a, y2a) = (Math.Max(xc - w, 0), Math.Max(yc - h, 0), xc, yc);
                        (x1b, y1b, x2b, y2b) = (w - (x2a - x1a), h - (y2a - y1a), w, h);
                        break;
                    case 1: // top right
                        (x1a, y1a, x2a, y2a) = (xc, Math.Max(yc - h, 0), Math.Min(xc + w, s * 2), yc);
                        (x1b, y1b, x2b, y2b) = (0, h - (y2a - y1a), Math.Min(w, x2a - x1a), h);
                        break;
                    case 2: // bottom left
                        (x1a, y1a, x2a, y2a) = (Math.Max(xc - w, 0), yc, xc, Math.Min(s * 2, yc + h));
                        (x1b, y1b, x2b, y2b) = (w - (x2a - x1a), 0, w, Math.Min(y2a - y1a, h));
                        break;
                    default: // bottom right
                        (x1a, y1a, x2a, y2a) = (xc, yc, Math.Min(xc + w, s * 2), Math.Min(s * 2, yc + h));
                        (x1b, y1b, x2b, y2b) = (0, 0, Math.Min(w, x2a - x1a), Math.Min(y2a - y1a, h));
                        break;
                }
                int cw = x2a - x1a;
                for (int y = 0; y < y2a - y1a; y++)
                    img.Pixels.Slice(((y1b + y) * w + x1b) * 3, cw * 3).CopyTo(canvas.Pixels.Slice(((y1a + y) * 2 * s + x1a) * 3, cw * 3));
                int padw = x1a - x1b, padh = y1a - y1b;
                foreach (var b in LabelBox.FromNormalized(li.Labels, w, h, padw, padh))
                    boxes.Add(new LabelBox(b.Class, Math.Clamp(b.X1, 0, 2 * s), Math.Clamp(b.Y1, 0, 2 * s), Math.Clamp(b.X2, 0, 2 * s), Math.Clamp(b.Y2, 0, 2 * s)));
            }
            finally { li.Release(); }
        }
        return canvas;
    }
}
