using YoloCore.Data;
using YoloCore.Training;

namespace YoloCore.Tests;

/// What trainer tests share: a temporary folder with a tiny synthetic dataset (16 train, 8 val
/// images at 64 px) and the options of a yolov5n run on it, deleted afterwards.
public abstract class TinyRuns : IDisposable
{
    protected readonly string root;
    protected readonly string dataYaml;
    readonly int workers;

    protected TinyRuns(string name, int workers)
    {
        root = Path.Combine(Path.GetTempPath(), $"yolocore-{name}-{Guid.NewGuid():N}");
        this.workers = workers;
        dataYaml = SyntheticDataset.Generate(Path.Combine(root, "data"), 16, 8, 64, seed: 3);
    }

    protected TrainOptions Tiny(string name, int epochs) => new()
    {
        Data = dataYaml, Cfg = "yolov5n", Epochs = epochs, BatchSize = 8, ImageSize = 64, Workers = workers, Seed = 5,
        Project = Path.Combine(root, "runs"), Name = name, ExistOk = true,
    };

    public virtual void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }
}
