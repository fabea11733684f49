namespace YoloCore.Data;

/// Finds a split's image files and their label files, as YOLOv5's LoadImagesAndLabels does: a folder
/// is searched recursively, a .txt file lists one image path per line ('./' = relative to the
/// list's folder), and images pair with labels by replacing the last /images/ with /labels/ and the
/// extension with .txt.
public static class ImageList
{
    /// Extensions YOLOv5 treats as images. Those the decoder cannot read (dng, mpo, pfm) end up counted as corrupt.
    public static readonly IReadOnlySet<string> ImageExtensions =
        new HashSet<string>(["bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm"], StringComparer.OrdinalIgnoreCase);

    public static string[] Find(IReadOnlyList<string> sources)
    {
        if (sources.Count == 0) throw new ArgumentException("no image sources given");
        var files = new List<string>();
        foreach (var source in sources)
        {
            if (Directory.Exists(source))
                files.AddRange(Directory.EnumerateFiles(source, "*.*", SearchOption.AllDirectories));
            else if (File.Exists(source))
            {
                string parent = Path.GetDirectoryName(Path.GetFullPath(source))!;
                foreach (var raw in File.ReadAllText(source).Trim().Split('\n'))
                {
                    string line = raw.Trim();
                    if (line.Length == 0) continue;
                    files.Add(line.StartsWith("./", StringComparison.Ordinal) ? Path.Combine(parent, line[2..])
                        : Path.IsPathRooted(line) ? line : Path.Combine(parent, line));
                }
            }
            else throw new FileNotFoundException($"dataset path does not exist: {source}", source);
        }
        var images = files.Where(IsImage).Select(Path.GetFullPath).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (images.Length == 0) throw new InvalidDataException($"no images found in {string.Join(", ", sources)}");
        return images;
    }

    public static bool IsImage(string f)
    {
        string ext = Path.GetExtension(f);
        return ext.Length > 1 && ImageExtensions.Contains(ext[1..]);
    }

    public static string LabelPathFor(string imagePath)
    {
        char sep = Path.DirectorySeparatorChar;
        string sa = $"{sep}images{sep}", sb = $"{sep}labels{sep}";
        string p = imagePath.Replace('/', sep);
        int i = p.LastIndexOf(sa, StringComparison.Ordinal);
        if (i >= 0) p = p[..i] + sb + p[(i + sa.Length)..];
        int dot = p.LastIndexOf('.');
        if (dot > p.LastIndexOf(sep)) p = p[..dot];
        return p + ".txt";
    }
}
