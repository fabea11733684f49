namespace YoloCore.Data;

/// How a split is loaded, mirroring YOLOv5's LoadImagesAndLabels arguments.
public sealed record DatasetOptions
{
    /// Training/validation image size (the longest side after load_image's resize).
    public int ImageSize { get; init; } = 640;
    /// Training augmentation (mosaic, perspective, HSV, flips, mixup); false for validation.
    public bool Augment { get; init; }
    public AugmentHyp Hyp { get; init; } = AugmentHyp.ScratchLow;
    /// Rectangular batches: images sorted by aspect ratio, each batch letterboxed to its own shape.
    /// Turns mosaic off (as in YOLOv5) and needs BatchSize.
    public bool Rect { get; init; }
    /// The batch size the rect shapes are computed for; the loader must use the same.
    public int BatchSize { get; init; } = 16;
    public int Stride { get; init; } = 32;
    /// Rect shape padding in strides (YOLOv5 validation uses 0.5).
    public double Pad { get; init; }
    /// Every label becomes class 0 (YOLOv5's --single-cls): one "item" class for detecting anything.
    public bool SingleClass { get; init; }
    /// Keep every resized image in memory after its first load (YOLOv5's --cache ram).
    public bool CacheImages { get; init; }
    /// Read and write the label cache file (labels/<split>.cache).
    public bool UseLabelCache { get; init; } = true;

    /// YOLOv5 training: mosaic and the scratch-low augmentations.
    public static DatasetOptions Training(int imageSize = 640, AugmentHyp? hyp = null) =>
        new() { ImageSize = imageSize, Augment = true, Hyp = hyp ?? AugmentHyp.ScratchLow };

    /// YOLOv5 validation: no augmentation, rect batches with 0.5 stride padding.
    public static DatasetOptions Validation(int imageSize = 640, int batchSize = 32, int stride = 32) =>
        new() { ImageSize = imageSize, Rect = true, BatchSize = batchSize, Stride = stride, Pad = 0.5 };
}
