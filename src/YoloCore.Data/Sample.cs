namespace YoloCore.Data;

/// One dataset item after loading and augmentation: the image (RGB HWC uint8), its labels as
/// normalised `class xc yc w h` rows, and for letterboxed (non-mosaic) items where the original
/// image sits in it.
public sealed class Sample(RgbImage image, float[] labels, LetterboxInfo? letterbox, int datasetIndex, string path) : IDisposable
{
    public RgbImage Image { get; } = image;
    public float[] Labels { get; } = labels;
    public int LabelCount => Labels.Length / 5;
    /// Null for mosaic samples (YOLOv5's shapes = None).
    public LetterboxInfo? Letterbox { get; } = letterbox;
    public int DatasetIndex { get; } = datasetIndex;
    public string Path { get; } = path;

    public void Dispose() => Image.Dispose();
}
