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
    /// The training set's labels before a run from scratch (YOLOv5's labels.jpg): class, xc, yc, w, h.
    void TrainingLabels(IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes, IReadOnlyList<string> names, string saveDir);
    /// The first three training batches of a run from scratch (YOLOv5's train_batch0..2.jpg).
    void TrainBatchSample(int index, Data.Batch batch, IReadOnlyList<string> names, string saveDir);
    void ValidationProgress(int batch, int batches);
    void ValidationDone(ValidationResult result, IReadOnlyList<string> names, bool perClass);
    /// A batch of the final validation with its detections in letterboxed pixels (val_batchN_*.jpg).
    void ValidationBatchSample(int index, Data.Batch batch, IReadOnlyList<YoloCore.Nn.Yolo.Detection>[] detections, IReadOnlyList<string> names, string saveDir);
    /// The final validation's curves and confusion matrix, to plot into the run folder.
    void ValidationPlots(ValidationResult result, IReadOnlyList<string> names, string saveDir);
    void EpochDone(EpochResult result, string resultsCsv);
}

/// Reports nothing; derive from it to hear only some events.
public class SilentReporter : ITrainingReporter
{
    public virtual void Info(string line) { }
    public virtual void Warning(string line) { }
    public virtual void EpochStarted(int epoch, int epochs) { }
    public virtual void BatchDone(BatchProgress progress) { }
    public virtual void TrainingLabels(IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes, IReadOnlyList<string> names,
        string saveDir) { }
    public virtual void TrainBatchSample(int index, Data.Batch batch, IReadOnlyList<string> names, string saveDir) { }
    public virtual void ValidationProgress(int batch, int batches) { }
    public virtual void ValidationDone(ValidationResult result, IReadOnlyList<string> names, bool perClass) { }
    public virtual void ValidationBatchSample(int index, Data.Batch batch, IReadOnlyList<YoloCore.Nn.Yolo.Detection>[] detections,
        IReadOnlyList<string> names, string saveDir) { }
    public virtual void ValidationPlots(ValidationResult result, IReadOnlyList<string> names, string saveDir) { }
    public virtual void EpochDone(EpochResult result, string resultsCsv) { }
}
