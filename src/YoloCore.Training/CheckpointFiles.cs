using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace YoloCore.Training;

/// One checkpoint's files, written so that they are trusted together or not at all.
///
/// Writing: each file goes to FILE.tmp (flushed to disk); then the manifest NAME.json.tmp, which
/// holds the checkpoint's JSON and every file's size and SHA-256: writing it completely is the
/// commit. Then each file is renamed into place and the manifest last.
/// Opening: a complete NAME.json.tmp means a kill came during the renames, so they are finished
/// (roll forward); an incomplete one means the kill came before the commit, so the .tmp files are
/// dropped and the previous checkpoint stands (roll back). Then every file is checked against the
/// manifest; one that does not match (a file from another epoch, cut short, edited) is refused
/// with a message naming it, never loaded.
public static class CheckpointFiles
{
    public sealed record Opened(string ManifestPath, JsonObject Manifest, string? Repair);

    /// files: each file's name inside dir and how to write its bytes.
    public static void Write(string dir, string name, JsonObject manifest, IReadOnlyList<(string File, Action<Stream> Write)> files)
    {
        Directory.CreateDirectory(dir);
        using var _ = Lock(dir);
        var listed = new JsonObject();
        foreach (var (file, write) in files)
        {
            string tmp = Path.Combine(dir, file + ".tmp");
            using (var stream = new FaultStream(File.Create(tmp)))
            {
                write(stream);
                stream.FlushToDisk();
            }
            FaultInjection.Boundary();
            listed[file] = Describe(tmp);
        }
        var committed = manifest.DeepClone().AsObject();
        committed["files"] = listed;
        string manifestPath = Path.Combine(dir, name + ".json");
        using (var stream = new FaultStream(File.Create(manifestPath + ".tmp")))
        {
            JsonSerializer.Serialize(stream, committed, new JsonSerializerOptions { WriteIndented = true });
            stream.FlushToDisk();
        }
        FaultInjection.Boundary();
        foreach (var (file, _) in files) Rename(Path.Combine(dir, file + ".tmp"), Path.Combine(dir, file));
        Rename(manifestPath + ".tmp", manifestPath);
    }

    /// Finishes or drops an interrupted write (see the class comment), then reads the manifest and
    /// checks every file it lists. Repair says what was finished or dropped, for a printed note.
    public static Opened Open(string dir, string name)
    {
        string manifestPath = Path.Combine(dir, name + ".json"), pending = manifestPath + ".tmp";
        using var _ = Lock(dir);
        string? repair = null;
        if (File.Exists(pending)) repair = FinishOrDrop(dir, name, pending, manifestPath);
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"no checkpoint {Path.GetFileName(manifestPath)} in {dir}", manifestPath);
        var manifest = Parse(manifestPath)
            ?? throw new InvalidDataException($"{manifestPath} is not a checkpoint: empty, cut short or not JSON, so it cannot be trusted");
        if (manifest["files"] is not JsonObject files)
            throw new InvalidDataException($"{manifestPath} lists no files with checksums (written by an older yolocore?): it cannot be verified");
        var wrong = files.Where(f => !Matches(Path.Combine(dir, f.Key), f.Value)).Select(f => f.Key).ToList();
        if (wrong.Count > 0)
        {
            string epoch = manifest["epoch"]?.ToString() ?? "?";
            var parts = wrong.Select(f => $"{f} ({EpochOf(Path.Combine(dir, f))})");
            throw new InvalidDataException($"{manifestPath} (epoch {epoch}) does not match {string.Join(", ", parts)}: " +
                "these files are not the ones that checkpoint wrote, so it is not loaded");
        }
        return new Opened(manifestPath, manifest, repair);
    }

    static string? FinishOrDrop(string dir, string name, string pending, string manifestPath)
    {
        var next = Parse(pending);
        if (next?["files"] is JsonObject files)
        {
            // Each file is either still FILE.tmp or already renamed; finish only when all are there.
            var toRename = files.Where(f => Matches(Path.Combine(dir, f.Key + ".tmp"), f.Value)).Select(f => f.Key).ToList();
            if (files.All(f => toRename.Contains(f.Key) || Matches(Path.Combine(dir, f.Key), f.Value)))
            {
                foreach (var file in toRename) Rename(Path.Combine(dir, file + ".tmp"), Path.Combine(dir, file));
                Rename(pending, manifestPath);
                return $"finished saving the checkpoint of epoch {next["epoch"]}, which was interrupted after it was complete";
            }
        }
        // Interrupted before the commit: what was written of the new checkpoint goes.
        foreach (var tmp in Directory.GetFiles(dir, name + ".*.tmp")) File.Delete(tmp);
        return "dropped a checkpoint that was interrupted while being written; the previous one stands";
    }

    static JsonObject? Parse(string path)
    {
        try { return JsonNode.Parse(File.ReadAllText(path)) as JsonObject; }
        catch (JsonException) { return null; }
    }

    static JsonObject Describe(string path)
    {
        using var file = File.OpenRead(path);
        return new JsonObject { ["bytes"] = file.Length, ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(file)) };
    }

    static bool Matches(string path, JsonNode? expected)
    {
        if (!File.Exists(path) || expected is not JsonObject e) return false;
        if (e["bytes"]?.GetValue<long>() != new FileInfo(path).Length) return false;
        return Describe(path)["sha256"]!.GetValue<string>() == e["sha256"]?.GetValue<string>();
    }

    /// The epoch a safetensors file says it holds, for messages.
    static string EpochOf(string path) =>
        !File.Exists(path) ? "missing"
        : YoloCore.Nn.IO.Safetensors.ReadMetadata(path).TryGetValue("epoch", out var e) ? $"epoch {e}" : "unreadable or cut short";

    static void Rename(string from, string to)
    {
        FaultInjection.Step();
        File.Move(from, to, overwrite: true);
    }

    /// Ranks resuming together and a writer must not repair or replace files under each other.
    static FileStream Lock(string dir)
    {
        string path = Path.Combine(dir, ".checkpoint.lock");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromSeconds(60)) { Thread.Sleep(50); }
        }
    }
}
