namespace YoloCore.Data;

/// A collated batch (YOLOv5's collate_fn): images NHWC uint8 [Size, Height, Width, 3] in a staging
/// buffer, and targets as rows (image index in batch, class, xc, yc, w, h), normalised to the batch
/// image size. Dispose returns the image buffer to its staging.
public sealed class Batch : IDisposable
{
    readonly IBatchStaging staging;
    StagingBuffer? buffer;

    internal Batch(int index, int height, int width, StagingBuffer buffer, IBatchStaging staging, float[] targets,
        int[] datasetIndices, string[] paths, LetterboxInfo?[] letterboxes)
    {
        Index = index; Height = height; Width = width;
        this.buffer = buffer; this.staging = staging;
        Targets = targets; DatasetIndices = datasetIndices; Paths = paths; Letterboxes = letterboxes;
    }

    /// The batch's number within its epoch (0-based).
    public int Index { get; }
    public int Size => DatasetIndices.Length;
    public int Height { get; }
    public int Width { get; }
    public StagingBuffer Buffer => buffer ?? throw new ObjectDisposedException(nameof(Batch));
    /// NHWC uint8 pixels, RGB.
    public Memory<byte> Images => Buffer.Memory;
    /// TargetCount rows of six floats: (image index, class, xc, yc, w, h).
    public float[] Targets { get; }
    public int TargetCount => Targets.Length / 6;
    public int[] DatasetIndices { get; }
    public string[] Paths { get; }
    /// Per image: where the original sits in the letterboxed image (null for mosaic images); the
    /// validator maps predictions back to original pixels with it.
    public LetterboxInfo?[] Letterboxes { get; }

    public Span<byte> Image(int i) => Images.Span.Slice(i * Height * Width * 3, Height * Width * 3);

    /// The images as a uint8 tensor [N, H, W, 3] (needs a registered backend for `device`).
    public Tensor ImagesTensor(Device? device = null) => Tensor.FromArray<byte>(Images.Span, new Shape(Size, Height, Width, 3), device);

    /// The targets as a float32 tensor [TargetCount, 6].
    public Tensor TargetsTensor(Device? device = null) => Tensor.FromArray<float>(Targets, new Shape(TargetCount, 6), device);

    public void Dispose()
    {
        var b = Interlocked.Exchange(ref buffer, null);
        if (b is not null) staging.Return(b);
    }
}
