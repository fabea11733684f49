namespace YoloCore.Training;

/// YOLOv5's increment_path: runs/train/exp, then exp2, exp3, … so a run never overwrites another.
public static class RunDirectory
{
    public static string Next(string project, string name, bool existOk = false)
    {
        string path = Path.Combine(project, name);
        if (existOk || !Directory.Exists(path)) return path;
        for (int n = 2; ; n++)
        {
            string candidate = path + n;
            if (!Directory.Exists(candidate)) return candidate;
        }
    }

    /// Creates the folder (and its subfolder, e.g. weights/ for training) and checks it can be
    /// written, with a message that names it when not.
    public static string Create(string path, string subfolder)
    {
        try
        {
            Directory.CreateDirectory(Path.Combine(path, subfolder));
            string probe = Path.Combine(path, ".write-test");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string? file = BlockingFile(Path.GetFullPath(path));
            throw new IOException($"cannot write to the output folder {Path.GetFullPath(path)}: " +
                (file is not null ? $"{file} is a file, not a folder" : e.Message), e);
        }
    }

    /// The nearest part of the path that exists as a file, so the message names it rather than
    /// saying a part of the path was not found.
    static string? BlockingFile(string path)
    {
        for (string? p = path; !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
            if (File.Exists(p)) return p;
        return null;
    }
}
