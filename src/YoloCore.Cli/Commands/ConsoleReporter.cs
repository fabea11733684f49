using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// YOLOv5's console output: a progress bar per epoch (epoch, memory, box/obj/cls losses,
/// instances, size, it/s, ETA), a validation line, and the per-class table at the end. When the
/// output is not a terminal, bars are printed once when complete instead of redrawn.
public sealed class ConsoleReporter : ITrainingReporter
{
    readonly bool live = !Console.IsOutputRedirected;
    string pending = "";

    static string Bar(int done, int total, int width = 10)
    {
        int filled = total == 0 ? width : done * width / total;
        return new string('█', filled) + new string(' ', width - filled);
    }

    static string Clock(double seconds) => double.IsFinite(seconds) ? TimeSpan.FromSeconds(Math.Max(0, seconds)).ToString(@"mm\:ss") : "--:--";

    void Draw(string line, bool done)
    {
        if (live) Console.Write("\r" + line + (done ? Environment.NewLine : ""));
        else if (done) Console.WriteLine(line);
    }

    public void Info(string line) => Console.WriteLine(line);
    public void Warning(string line) => Console.WriteLine("WARNING ⚠️ " + line);

    public void EpochStarted(int epoch, int epochs) =>
        Console.WriteLine($"\n{"Epoch",11}{"Memory",11}{"box_loss",11}{"obj_loss",11}{"cls_loss",11}{"Instances",11}{"Size",11}");

    public void BatchDone(BatchProgress p)
    {
        double elapsed = p.Batch / p.ItemsPerSecond;
        string line = $"{$"{p.Epoch}/{p.Epochs - 1}",11}{$"{p.MemoryGiB:0.##}G",11}{p.Box,11:F4}{p.Obj,11:F4}{p.Cls,11:F4}{p.Instances,11}{p.ImageSize,11}: " +
            $"{100 * p.Batch / p.Batches,3}%|{Bar(p.Batch, p.Batches)}| {p.Batch}/{p.Batches} [{Clock(elapsed)}<{Clock(p.EtaSeconds)}, {p.ItemsPerSecond:F2}it/s]";
        Draw(line, p.Batch == p.Batches);
    }

    public void TrainingLabels(IReadOnlyList<(int Class, float X, float Y, float W, float H)> boxes, IReadOnlyList<string> names, string saveDir)
    {
        try { Drawing.LabelsPlot.Render(boxes, names.Count, names, Path.Combine(saveDir, "labels.jpg")); }
        catch (IOException e) { Warning($"could not write labels.jpg: {e.Message}"); }
    }

    public void TrainBatchSample(int index, YoloCore.Data.Batch batch, IReadOnlyList<string> names, string saveDir)
    {
        try
        {
            Drawing.BatchMosaic.Render(batch.Images.Span, batch.Size, batch.Height, batch.Width, batch.Targets, names, batch.Paths,
                Path.Combine(saveDir, $"train_batch{index}.jpg"));
        }
        catch (IOException e) { Warning($"could not write train_batch{index}.jpg: {e.Message}"); }
    }

    public void ValidationProgress(int batch, int batches)
    {
        pending = $"{"Class",22}{"Images",11}{"Instances",11}{"P",11}{"R",11}{"mAP50",11}{"mAP50-95",11}: {100 * batch / batches,3}%|{Bar(batch, batches)}| {batch}/{batches}";
        Draw(pending, batch == batches);
    }

    public void ValidationDone(ValidationResult r, IReadOnlyList<string> names, bool perClass)
    {
        var m = r.Metrics;
        Console.WriteLine($"{"all",22}{r.Images,11}{r.Instances,11}{m.MeanPrecision,11:F3}{m.MeanRecall,11:F3}{m.Map50,11:F3}{m.Map,11:F3}");
        if (!perClass) return;
        for (int i = 0; i < m.Classes.Length; i++)
        {
            string name = m.Classes[i] < names.Count ? names[m.Classes[i]] : m.Classes[i].ToString();
            Console.WriteLine($"{name,22}{r.Images,11}{m.Targets[i],11}{m.Precision[i],11:F3}{m.Recall[i],11:F3}{m.Ap50(i),11:F3}{m.ApMean(i),11:F3}");
        }
        Console.WriteLine($"Speed: {1000 * r.Seconds / Math.Max(1, r.Images):F1}ms per image (forward, loss, NMS, metrics)");
    }

    public void ValidationBatchSample(int index, YoloCore.Data.Batch batch, IReadOnlyList<YoloCore.Nn.Yolo.Detection>[] detections,
        IReadOnlyList<string> names, string saveDir)
    {
        try
        {
            Drawing.BatchMosaic.Render(batch.Images.Span, batch.Size, batch.Height, batch.Width, batch.Targets, names, batch.Paths,
                Path.Combine(saveDir, $"val_batch{index}_labels.jpg"));
            // Detections as rows like the labels': image, class, centre and size normalised to the batch.
            var rows = new List<float>();
            var confidence = new List<double>();
            for (int i = 0; i < detections.Length; i++)
                foreach (var d in detections[i])
                {
                    rows.AddRange([i, d.Class, (float)((d.X1 + d.X2) / 2 / batch.Width), (float)((d.Y1 + d.Y2) / 2 / batch.Height),
                        (float)((d.X2 - d.X1) / batch.Width), (float)((d.Y2 - d.Y1) / batch.Height)]);
                    confidence.Add(d.Score);
                }
            Drawing.BatchMosaic.Render(batch.Images.Span, batch.Size, batch.Height, batch.Width, rows.ToArray(), names, batch.Paths,
                Path.Combine(saveDir, $"val_batch{index}_pred.jpg"), confidence);
        }
        catch (IOException e) { Warning($"could not write val_batch{index} images: {e.Message}"); }
    }

    public void ValidationPlots(ValidationResult result, IReadOnlyList<string> names, string saveDir)
    {
        try
        {
            Drawing.CurvePlot.RenderAll(result.Metrics, names, saveDir);
            if (result.Confusion is { } m) Drawing.ConfusionPlot.Render(m, names, Path.Combine(saveDir, "confusion_matrix.png"));
        }
        catch (IOException e) { Warning($"could not write the validation plots: {e.Message}"); }
    }

    public void EpochDone(EpochResult result, string resultsCsv)
    {
        try { Drawing.ResultsPlot.Render(resultsCsv, Path.Combine(Path.GetDirectoryName(resultsCsv)!, "results.png")); }
        catch (IOException e) { Warning($"could not write results.png: {e.Message}"); }
    }
}
