namespace YoloCore.Cuda;

/// The implicit-GEMM convolution's tile per layer shape, chosen once by timing each candidate
/// and kept in a file per card, like cudnn.benchmark but remembered across runs. Every candidate
/// computes the same numbers (the tile changes which block computes an output, not the order
/// of its sums), so the choice changes speed only. The file is lines of `key<TAB>tile`; a line
/// that does not parse, or names a tile that is no longer a candidate, is ignored with one
/// counted warning and its shape timed again. Nothing here touches the GPU: the caller times.
public sealed class TileChoices
{
    readonly string path;
    readonly Dictionary<string, string> chosen = [];
    readonly Action<string> warn;
    bool loaded;

    /// path: the card's file; warn: where the one-line warnings go (standard error by default).
    public TileChoices(string path, Action<string>? warn = null)
    {
        this.path = path;
        this.warn = warn ?? (m => Console.Error.WriteLine(m));
    }


    /// Shapes timed in this process (the rest came from the file).
    public int Timed { get; private set; }

    /// The tile for this shape: from the file, else the fastest candidate by time(tile) (the
    /// milliseconds of one run, warmed up, on the device), timed now and appended to the file.
    /// With one candidate there is nothing to time.
    public string Choose(string key, IReadOnlyList<string> candidates, Func<string, double> time)
    {
        if (candidates.Count == 0) throw new ArgumentException("no candidate tiles", nameof(candidates));
        if (candidates.Count == 1) return candidates[0];
        Load(candidates);
        if (chosen.TryGetValue(key, out var tile) && candidates.Contains(tile)) return tile;
        tile = candidates.MinBy(time)!;
        Timed++;
        chosen[key] = tile;
        Append(key, tile);
        return tile;
    }

    /// The file's choices; a malformed line is skipped (and counted once for the warning).
    void Load(IReadOnlyList<string> candidates)
    {
        if (loaded) return;
        loaded = true;
        if (!File.Exists(path)) return;
        int bad = 0;
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (IOException e)
        {
            warn($"yolocore: cannot read the convolution tile choices {path} ({e.Message}); timing the shapes again");
            return;
        }
        foreach (var line in lines)
        {
            var parts = line.Split('\t');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0 || parts[1].Any(char.IsWhiteSpace)) { bad++; continue; }
            chosen[parts[0]] = parts[1];
        }
        if (bad > 0) warn($"yolocore: {path}: ignored {bad} malformed line{(bad == 1 ? "" : "s")} of convolution tile choices; those shapes are timed again");
    }

    void Append(string key, string tile)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.AppendAllText(path, $"{key}\t{tile}\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warn($"yolocore: cannot write the convolution tile choices {path} ({e.Message}); they are kept for this run only");
        }
    }
}
