namespace YoloCore.Data;

/// YOLOv5's rectangular batches: with images sorted by aspect ratio h/w, batch i gets the shape
/// (h, w) = ceil(shape·img_size/stride + pad)·stride, where shape is (maxi, 1) when every image in
/// it is wide (ratio < 1), (1, 1/mini) when every one is tall, and (1, 1) otherwise.
public static class RectBatchShapes
{
    /// The order that sorts images by aspect ratio (stable, so equal ratios keep file order).
    public static int[] SortOrder(IReadOnlyList<(int Width, int Height)> sizes) =>
        Enumerable.Range(0, sizes.Count).OrderBy(i => (double)sizes[i].Height / sizes[i].Width).ToArray();

    /// Shapes (height, width) per batch for sizes already in sorted order.
    public static (int Height, int Width)[] Compute(IReadOnlyList<(int Width, int Height)> sortedSizes, int batchSize, int imageSize, int stride, double pad)
    {
        int n = sortedSizes.Count, nb = (n + batchSize - 1) / batchSize;
        var shapes = new (int, int)[nb];
        for (int b = 0; b < nb; b++)
        {
            double mini = double.MaxValue, maxi = double.MinValue;
            for (int i = b * batchSize; i < Math.Min(n, (b + 1) * batchSize); i++)
            {
                double ar = (double)sortedSizes[i].Height / sortedSizes[i].Width;
                mini = Math.Min(mini, ar); maxi = Math.Max(maxi, ar);
            }
            double sh = 1, sw = 1;
            if (maxi < 1) sh = maxi;
            else if (mini > 1) sw = 1 / mini;
            shapes[b] = ((int)Math.Ceiling(sh * imageSize / stride + pad) * stride, (int)Math.Ceiling(sw * imageSize / stride + pad) * stride);
        }
        return shapes;
    }
}
