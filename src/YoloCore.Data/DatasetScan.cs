namespace YoloCore.Data;

/// Verifies every image and label of a split (YOLOv5's verify_image_label), in parallel, through the
/// label cache. Corrupt images are reported and left out; nothing throws for bad files.
public static class DatasetScan
{
    public static (ImageRecord[] Records, DatasetSummary Summary) Run(string[] images, int classCount, bool useCache = true)
    {
        var labels = images.Select(ImageList.LabelPathFor).ToArray();
        string hash = LabelCache.Hash(images, labels, classCount);
        string beside = LabelCache.PathBesideLabels(labels[0]);
        string fallback = LabelCache.FallbackPath(labels[0]);
        ImageRecord[]? records = null;
        string cacheInfo = "label cache not used";
        if (useCache)
        {
            foreach (var p in new[] { beside, fallback })
                if ((records = LabelCache.TryLoad(p, hash)) is not null) { cacheInfo = $"labels read from cache {p}"; break; }
        }
        if (records is null)
        {
            records = new ImageRecord[images.Length];
            Parallel.For(0, images.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                i => records[i] = Verify(images[i], labels[i], classCount));
            if (useCache)
            {
                cacheInfo = LabelCache.TrySave(beside, hash, records) ? $"label cache written to {beside}"
                    : LabelCache.TrySave(fallback, hash, records) ? $"labels folder not writable, label cache written to {fallback}"
                    : "label cache not writable";
            }
        }
        return (records, Summarise(records, labels, cacheInfo));
    }

    static DatasetSummary Summarise(ImageRecord[] records, string[] labels, string cacheInfo)
    {
        int labelled = records.Count(r => r.Status == ImageStatus.Labelled);
        string? note = null;
        string dir = Path.GetDirectoryName(labels[0])!;
        if (labelled == 0)
        {
            note = Directory.Exists(dir) ? $"no labels found in {dir}: every image is a background"
                : $"labels folder {dir} does not exist: every image is a background";
        }
        return new DatasetSummary
        {
            Labelled = labelled,
            Backgrounds = records.Count(r => r.Status == ImageStatus.Background),
            Corrupt = records.Count(r => r.Status == ImageStatus.Corrupt),
            CorruptFiles = records.Where(r => r.Status == ImageStatus.Corrupt).Select(r => (r.ImagePath, r.Message ?? "corrupt")).ToList(),
            Warnings = records.Where(r => r.Status != ImageStatus.Corrupt && r.Message is not null).Select(r => (r.ImagePath, r.Message!)).ToList(),
            Note = note,
            LabelsFolder = dir,
            CacheInfo = cacheInfo,
        };
    }

    static readonly HashSet<string> formats = ["jpeg", "png", "bmp", "tiff", "webp"];

    /// One image and its label file. Never throws for bad content: the record says what was wrong.
    public static ImageRecord Verify(string image, string label, int classCount)
    {
        ImageHeader header;
        string? warning = null;
        try
        {
            header = ImageDecoder.Identify(image);
            if (header.Width < 10 || header.Height < 10) return Corrupt($"image size {header.Width}x{header.Height} <10 pixels");
            if (!formats.Contains(header.Format)) return Corrupt($"invalid image format {header.Format}");
            // Identify reads headers only; decode fully what a header check cannot vouch for: a JPEG
            // without its end marker (YOLOv5 restores those) and every non-JPEG.
            bool decode = header.Format != "jpeg" || !EndsWithJpegEoi(image);
            if (decode)
            {
                using var px = ImageDecoder.Decode(image);
                if (header.Format == "jpeg") warning = "corrupt JPEG (no end marker) decoded anyway";
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Corrupt(e is FileNotFoundException ? "file not found" : e.Message);
        }

        if (!File.Exists(label)) return Record(header, [], ImageStatus.Background, warning);
        string text;
        try { text = File.ReadAllText(label); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Corrupt($"label file unreadable: {e.Message}"); }
        var parse = LabelFile.Parse(text, classCount);
        if (parse.Error is not null) return Corrupt($"{label}: {parse.Error}");
        string? msg = warning is null ? parse.Warning : parse.Warning is null ? warning : warning + ", " + parse.Warning;
        return Record(header, parse.Rows, parse.Count > 0 ? ImageStatus.Labelled : ImageStatus.Background, msg);

        ImageRecord Corrupt(string reason) => new(image, label, 0, 0, [], ImageStatus.Corrupt, reason);
        ImageRecord Record(ImageHeader h, float[] rows, ImageStatus s, string? m) => new(image, label, h.Width, h.Height, rows, s, m);
    }

    static bool EndsWithJpegEoi(string path)
    {
        using var f = File.OpenRead(path);
        if (f.Length < 2) return false;
        f.Seek(-2, SeekOrigin.End);
        return f.ReadByte() == 0xFF && f.ReadByte() == 0xD9;
    }
}
