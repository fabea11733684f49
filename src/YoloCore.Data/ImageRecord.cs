namespace YoloCore.Data;

public enum ImageStatus : byte
{
    /// A label file with at least one box.
    Labelled,
    /// No label file, or an empty one: the image trains as background (no objects).
    Background,
    /// Unreadable image or invalid label file: skipped, with the reason in Message.
    Corrupt,
}

/// One image of a split as verified by the scan: its size after EXIF orientation and its labels
/// (`class xc yc w h`, normalised, five floats per box).
public sealed record ImageRecord(string ImagePath, string LabelPath, int Width, int Height, float[] Labels, ImageStatus Status, string? Message)
{
    public int LabelCount => Labels.Length / 5;
}
