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
    /// Where the labels were looked for (the first image's labels folder).
    public required string LabelsFolder { get; init; }
    /// Where the label cache was read or written, or why it was not.
    public string? CacheInfo { get; init; }

    /// Images the dataset yields: labelled ones and backgrounds.
    public int Images => Labelled + Backgrounds;

    /// The scan line: "128 images (126 labelled, 2 backgrounds), 1 corrupt, 2 repaired".
    public string Line => $"{Images} images ({Labelled} labelled, {Backgrounds} backgrounds), {Corrupt} corrupt, {Warnings.Count} repaired";

    /// One WARNING line per split-wide problem, skipped file and repaired file (YOLOv5 prints each).
    public IEnumerable<string> WarningLines()
    {
        if (Note is not null) yield return Note;
        foreach (var (file, reason) in CorruptFiles) yield return $"ignoring corrupt image and/or label {file}: {reason}";
        foreach (var (file, warning) in Warnings) yield return $"{file}: {warning}";
    }

    /// The scan line followed by its warnings, for a log.
    public IEnumerable<string> Lines() => WarningLines().Select(w => "WARNING: " + w).Prepend(Line);

    public override string ToString() => Line;
}
