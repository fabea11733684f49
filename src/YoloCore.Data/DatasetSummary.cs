namespace YoloCore.Data;

/// What the scan of a split found, reported once: counts and every skipped or repaired file with
/// its reason.
public sealed class DatasetSummary
{
    public required int Labelled { get; init; }
    public required int Backgrounds { get; init; }
    public required int Corrupt { get; init; }
    /// (file, reason) for every corrupt image; it is left out of the dataset.
    public required IReadOnlyList<(string File, string Reason)> CorruptFiles { get; init; }
    /// (file, what was repaired) for images kept after a repair (duplicate rows removed ...).
    public required IReadOnlyList<(string File, string Warning)> Warnings { get; init; }
    /// A split-wide warning (no label files at all), or null.
    public string? Note { get; init; }
    /// Where the label cache was read or written, or why it was not.
    public string? CacheInfo { get; init; }

    /// Images the dataset yields: labelled ones and backgrounds.
    public int Images => Labelled + Backgrounds;

    /// "128 images (126 labelled, 2 backgrounds), 1 corrupt: a.jpg (reason)".
    public string Line
    {
        get
        {
            var s = $"{Images} images ({Labelled} labelled, {Backgrounds} backgrounds), {Corrupt} corrupt";
            if (CorruptFiles.Count > 0) s += ": " + string.Join("; ", CorruptFiles.Select(c => $"{c.File} ({c.Reason})"));
            return s;
        }
    }

    /// The summary line followed by one line per warning, for a log.
    public IEnumerable<string> Lines()
    {
        yield return Line;
        if (Note is not null) yield return $"WARNING: {Note}";
        foreach (var (file, warning) in Warnings) yield return $"WARNING: {file}: {warning}";
    }

    public override string ToString() => Line;
}
