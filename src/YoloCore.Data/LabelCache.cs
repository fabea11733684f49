using System.Security.Cryptography;
using System.Text;

namespace YoloCore.Data;

/// The verified records of a split, saved beside the labels (labels/train2017.cache for
/// labels/train2017/, as YOLOv5 names it) so later runs skip the scan. The file holds a hash of
/// every image and label path with its size and modification time, and the class count, so any
/// change to the files invalidates it. When the labels folder is read-only the cache goes to the
/// temp folder instead, keyed by the labels folder's path.
public static class LabelCache
{
    const int Version = 1;
    const string Magic = "YCLABELS";

    public static string PathBesideLabels(string firstLabelPath) =>
        Path.GetDirectoryName(firstLabelPath)!.TrimEnd(Path.DirectorySeparatorChar) + ".cache";

    public static string FallbackPath(string firstLabelPath)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(PathBesideLabels(firstLabelPath))))[..16];
        return Path.Combine(Path.GetTempPath(), "yolocore-label-cache", key + ".cache");
    }

    /// A hash of the inputs the records depend on: paths, sizes and times of images and labels.
    public static string Hash(IReadOnlyList<string> images, IReadOnlyList<string> labels, int classCount)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s) => h.AppendData(Encoding.UTF8.GetBytes(s + "\n"));
        Add($"v{Version} nc={classCount}");
        for (int i = 0; i < images.Count; i++)
        {
            foreach (var f in new[] { images[i], labels[i] })
            {
                var info = new FileInfo(f);
                Add(info.Exists ? $"{f}|{info.Length}|{info.LastWriteTimeUtc.Ticks}" : $"{f}|-");
            }
        }
        return Convert.ToHexString(h.GetHashAndReset());
    }

    public static ImageRecord[]? TryLoad(string path, string hash)
    {
        try
        {
            if (!File.Exists(path)) return null;
            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (r.ReadString() != Magic || r.ReadInt32() != Version || r.ReadString() != hash) return null;
            int n = r.ReadInt32();
            var records = new ImageRecord[n];
            for (int i = 0; i < n; i++)
            {
                string image = r.ReadString(), label = r.ReadString();
                int w = r.ReadInt32(), h = r.ReadInt32();
                var status = (ImageStatus)r.ReadByte();
                string? message = r.ReadBoolean() ? r.ReadString() : null;
                var labels = new float[r.ReadInt32()];
                for (int j = 0; j < labels.Length; j++) labels[j] = r.ReadSingle();
                records[i] = new ImageRecord(image, label, w, h, labels, status, message);
            }
            return records;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // an unreadable or damaged cache is rebuilt
        }
    }

    /// Writes the cache atomically (temp file, then rename). Returns false if the folder is not writable.
    public static bool TrySave(string path, string hash, IReadOnlyList<ImageRecord> records)
    {
        string tmp = path + $".{Environment.ProcessId}.tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var w = new BinaryWriter(File.Create(tmp), Encoding.UTF8))
            {
                w.Write(Magic); w.Write(Version); w.Write(hash); w.Write(records.Count);
                foreach (var rec in records)
                {
                    w.Write(rec.ImagePath); w.Write(rec.LabelPath); w.Write(rec.Width); w.Write(rec.Height);
                    w.Write((byte)rec.Status);
                    w.Write(rec.Message is not null);
                    if (rec.Message is not null) w.Write(rec.Message);
                    w.Write(rec.Labels.Length);
                    foreach (var v in rec.Labels) w.Write(v);
                }
            }
            File.Move(tmp, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (Exception) { }
            return false;
        }
    }
}
