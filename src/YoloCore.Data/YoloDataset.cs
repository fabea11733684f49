using System.Collections.Concurrent;

namespace YoloCore.Data;

public enum DatasetSplit { Train, Val, Test }

/// One split of a YOLO dataset (YOLOv5's LoadImagesAndLabels): the verified images and labels, and
/// GetItem, which loads and augments one sample exactly as __getitem__ does. GetItem is thread-safe
/// and draws all its randomness from the Rng it is given, so the loader can make every sample a
/// pure function of (seed, epoch, position).
public sealed class YoloDataset : IDisposable
{
    readonly ImageRecord[] records;
    readonly RgbImage?[]? imageCache;
    readonly ConcurrentDictionary<string, string> loadFailures = new();

    public DatasetOptions Options { get; }
    public int ClassCount { get; }
    /// Usable images (corrupt ones left out), in dataset order (sorted by aspect ratio when Rect).
    public IReadOnlyList<ImageRecord> Images => records;
    public int Count => records.Length;
    public DatasetSummary Summary { get; }
    /// Per-batch letterbox shapes (height, width) when Options.Rect, else null.
    public IReadOnlyList<(int Height, int Width)>? BatchShapes { get; }
    /// Mosaic is used when augmenting without rect batches, as in YOLOv5.
    public bool UsesMosaic => Options.Augment && !Options.Rect;
    /// Images that passed the scan but failed to decode later (file changed): each trained as a
    /// grey background instead of stopping training. File → reason.
    public IReadOnlyDictionary<string, string> LoadFailures => loadFailures;

    YoloDataset(ImageRecord[] usable, DatasetSummary summary, int classCount, DatasetOptions options)
    {
        Options = options;
        ClassCount = options.SingleClass ? 1 : classCount;
        Summary = summary;
        records = options.SingleClass ? usable.Select(r => r with { Labels = ToClassZero(r.Labels) }).ToArray() : usable;
        if (options.Rect)
        {
            if (options.BatchSize < 1) throw new ArgumentException("rect batches need a batch size of at least 1");
            var order = RectBatchShapes.SortOrder(records.Select(r => (r.Width, r.Height)).ToList());
            records = order.Select(i => records[i]).ToArray();
            BatchShapes = RectBatchShapes.Compute(records.Select(r => (r.Width, r.Height)).ToList(), options.BatchSize, options.ImageSize, options.Stride, options.Pad);
        }
        if (options.CacheImages) imageCache = new RgbImage?[records.Length];
    }

    /// The same boxes, every one of class 0.
    static float[] ToClassZero(float[] labels)
    {
        var copy = (float[])labels.Clone();
        for (int i = 0; i < copy.Length; i += 5) copy[i] = 0;
        return copy;
    }

    public static YoloDataset Open(DatasetConfig config, DatasetSplit split, DatasetOptions options)
    {
        var sources = split switch { DatasetSplit.Train => config.Train, DatasetSplit.Val => config.Val, _ => config.Test };
        if (sources.Count == 0) throw new InvalidDataException($"dataset {config.YamlPath} has no '{split.ToString().ToLowerInvariant()}:' images");
        return Open(sources, config.ClassCount, options);
    }

    /// sources: folders of images and/or .txt image lists (see ImageList).
    public static YoloDataset Open(IReadOnlyList<string> sources, int classCount, DatasetOptions options)
    {
        if (options.ImageSize < 32) throw new ArgumentException($"image size {options.ImageSize} is too small");
        var images = ImageList.Find(sources);
        var (all, summary) = DatasetScan.Run(images, classCount, options.UseLabelCache);
        var usable = all.Where(r => r.Status != ImageStatus.Corrupt).ToArray();
        if (usable.Length == 0) throw new InvalidDataException($"no usable images in {string.Join(", ", sources)}: {summary.Line}");
        return new YoloDataset(usable, summary, classCount, options);
    }

    /// The letterbox shape (height, width) of item `index`: its rect batch's shape, or square.
    public (int Height, int Width) ShapeOf(int index) =>
        BatchShapes is null ? (Options.ImageSize, Options.ImageSize) : BatchShapes[index / Options.BatchSize];

    /// YOLOv5's __getitem__: mosaic (+ mixup) or letterbox (+ random perspective when augmenting),
    /// then HSV gains and flips when augmenting.
    public Sample GetItem(int index, Rng rng)
    {
        var hyp = Options.Hyp;
        int size = Options.ImageSize;
        RgbImage img;
        List<LabelBox> boxes;
        LetterboxInfo? letterbox = null;
        if (UsesMosaic && rng.NextDouble() < hyp.Mosaic)
        {
            img = Mosaic.Load(index, Count, size, LoadImage, rng, hyp, out boxes);
            if (rng.NextDouble() < hyp.Mixup)
            {
                using var img2 = Mosaic.Load(rng.NextInt(Count), Count, size, LoadImage, rng, hyp, out var boxes2);
                Mixup.Apply(img, img2, Mixup.Beta(rng, 32, 32));
                boxes.AddRange(boxes2);
            }
        }
        else
        {
            var li = LoadImage(index);
            try
            {
                var (h, w) = ShapeOf(index);
                img = Letterbox.Apply(li.Image, h, w, out var info, auto: false, scaleUp: Options.Augment);
                // Relative to the original image: load_image's resize then the letterbox's.
                var total = info with
                {
                    OriginalWidth = li.OriginalWidth, OriginalHeight = li.OriginalHeight,
                    GainX = info.GainX * li.Image.Width / li.OriginalWidth, GainY = info.GainY * li.Image.Height / li.OriginalHeight,
                };
                letterbox = total;
                boxes = LabelBox.FromNormalized(li.Labels, total.GainX * li.OriginalWidth, total.GainY * li.OriginalHeight, total.PadLeft, total.PadTop);
            }
            finally { li.Release(); }
            if (Options.Augment)
            {
                var warped = RandomPerspective.Apply(img, boxes, rng, hyp);
                img.Dispose();
                img = warped;
            }
        }

        var labels = LabelBox.ToNormalized(boxes, img.Width, img.Height);
        if (Options.Augment)
        {
            HsvAugment.Apply(img, rng, hyp.HsvH, hyp.HsvS, hyp.HsvV);
            if (rng.NextDouble() < hyp.FlipUd) Flip.UpDown(img, labels);
            if (rng.NextDouble() < hyp.FlipLr) Flip.LeftRight(img, labels);
        }
        return new Sample(img, labels, letterbox, index, records[index].ImagePath);
    }

    /// YOLOv5's load_image: decode (EXIF applied) and resize so the longest side is ImageSize,
    /// bilinear when augmenting or enlarging, area-averaging when shrinking for validation.
    public LoadedImage LoadImage(int index)
    {
        var rec = records[index];
        if (imageCache?[index] is RgbImage cached) return new LoadedImage(cached, false, rec.Width, rec.Height, rec.Labels);

        RgbImage decoded;
        float[] labels = rec.Labels;
        bool failed = false;
        try
        {
            decoded = ImageDecoder.Decode(rec.ImagePath);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Verified at open time but unreadable now: train it as an empty grey image, say so once.
            loadFailures.TryAdd(rec.ImagePath, e.Message);
            decoded = RgbImage.Filled(rec.Width, rec.Height, Letterbox.Grey);
            labels = [];
            failed = true;
        }
        int w0 = decoded.Width, h0 = decoded.Height;
        double r = (double)Options.ImageSize / Math.Max(h0, w0);
        var img = decoded;
        if (r != 1)
        {
            int w = (int)Math.Ceiling(w0 * r), h = (int)Math.Ceiling(h0 * r);
            img = Options.Augment || r > 1 ? Resize.Bilinear(decoded, w, h) : Resize.Area(decoded, w, h);
            decoded.Dispose();
        }
        if (imageCache is null || failed) return new LoadedImage(img, true, w0, h0, labels);
        var winner = Interlocked.CompareExchange(ref imageCache[index], img, null);
        if (winner is not null) { img.Dispose(); img = winner; }
        return new LoadedImage(img, false, w0, h0, labels);
    }

    public void Dispose()
    {
        if (imageCache is null) return;
        for (int i = 0; i < imageCache.Length; i++) Interlocked.Exchange(ref imageCache[i], null)?.Dispose();
    }
}
