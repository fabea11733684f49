namespace YoloCore.Training;

/// Progress of one training batch, for the progress bar.
public readonly record struct BatchProgress(int Epoch, int Epochs, int Batch, int Batches, double Box, double Obj, double Cls,
    int Instances, int ImageSize, double MemoryGiB, double ItemsPerSecond, double EtaSeconds);

/// Where a training run reports what it does; the command line draws YOLOv5-style progress bars,
/// tests can collect or ignore it.
public interface ITrainingReporter
{
    void Info(string line);
    void Warning(string line);
    void EpochStarted(int epoch, int epochs);
    void BatchDone(BatchProgress progress);
    void ValidationProgress(int batch, int batches);
    void ValidationDone(ValidationResult result, IReadOnlyList<string> names, bool perClass);
    void EpochDone(EpochResult result, string resultsCsv);
}

/// Reports nothing.
public sealed class SilentReporter : ITrainingReporter
{
    public void Info(string line) { }
    public void Warning(string line) { }
    public void EpochStarted(int epoch, int epochs) { }
    public void BatchDone(BatchProgress progress) { }
    public void ValidationProgress(int batch, int batches) { }
    public void ValidationDone(ValidationResult result, IReadOnlyList<string> names, bool perClass) { }
    public void EpochDone(EpochResult result, string resultsCsv) { }
}
