using System.Diagnostics;
using YoloCore.Autograd;
using YoloCore.Data;
using YoloCore.Nn.Yolo;
using YoloCore.Training.Metrics;

namespace YoloCore.Training;

/// What one validation pass measured.
public sealed record ValidationResult(DetectionMetrics Metrics, double Box, double Obj, double Cls, int Images, int Instances, double Seconds)
{
    /// YOLOv5's confusion matrix of the same pass (for confusion_matrix.png).
    public ConfusionMatrix? Confusion { get; init; }
}

/// YOLOv5's val.run as the trainer calls it: letterboxed (rect) batches, eval-mode forward,
/// the loss of the raw heads (averaged over batches), NMS (conf 0.001, IoU 0.6, multi-label),
/// predictions and labels mapped back to each image's original pixels, matched at IoU
/// 0.50:0.05:0.95, and precision, recall, mAP@0.5 and mAP@0.5:0.95. onImage sees each image's
/// detections in its own pixels (val.py's --save-txt and --save-json); onBatch each batch's, in the
/// batch's letterboxed pixels (val_batchN_pred.jpg).
public static class Validator
{
    public static ValidationResult Run(YoloModel model, DataLoader loader, Device device, DType computeType, YoloLoss? loss = null,
        double confThres = 0.001, double iouThres = 0.6, int maxDet = 300, Action<int, int>? progress = null,
        Action<ImagePredictions>? onImage = null, Action<Batch, IReadOnlyList<Detection>[]>? onBatch = null)
    {
        var clock = Stopwatch.StartNew();
        bool wasTraining = model.Training;
        model.Eval();
        var stats = new DetectionStats();
        var confusion = new ConfusionMatrix(model.Nc);
        double box = 0, obj = 0, cls = 0;
        int batches = 0;
        using var _ = GradMode.NoGrad();
        foreach (var batch in loader.Epoch(0))
        {
            using (batch)
            using (TensorScope.Begin())
            {
                var images = YoloModel.Input(batch.ImagesTensor(device), computeType);
                var heads = model.ForwardHeads(images);
                var targets = Array.ConvertAll(batch.Targets, v => (double)v);
                if (loss is not null)
                {
                    var l = loss.Compute(heads.Select(h => h.DType == DType.Float32 ? h : h.Cast(DType.Float32)).ToArray(), targets);
                    box += l.Box; obj += l.Obj; cls += l.Cls;
                }
                var pred = model.Detect.Decode(heads);
                var detections = Nms.Run(pred, confThres, iouThres, maxDet, multiLabel: true);
                onBatch?.Invoke(batch, detections);
                for (int i = 0; i < batch.Size; i++)
                {
                    var lb = batch.Letterboxes[i] ?? new LetterboxInfo(batch.Width, batch.Height, 1, 1, 0, 0);
                    var labels = new List<GroundTruthBox>();
                    for (int t = 0; t < batch.TargetCount; t++)
                    {
                        if ((int)targets[t * 6] != i) continue;
                        double cx = targets[t * 6 + 2] * batch.Width, cy = targets[t * 6 + 3] * batch.Height;
                        double w = targets[t * 6 + 4] * batch.Width, h = targets[t * 6 + 5] * batch.Height;
                        var (x1, y1, x2, y2) = lb.BoxToOriginal(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
                        labels.Add(new GroundTruthBox((int)targets[t * 6 + 1], x1, y1, x2, y2));
                    }
                    var native = detections[i].Select(d =>
                    {
                        var (x1, y1, x2, y2) = lb.BoxToOriginal(d.X1, d.Y1, d.X2, d.Y2);
                        return d with { X1 = x1, Y1 = y1, X2 = x2, Y2 = y2 };
                    }).ToList();
                    stats.Add(native, labels);
                    confusion.Add(native, labels);
                    onImage?.Invoke(new ImagePredictions(batch.Paths[i], lb.OriginalWidth, lb.OriginalHeight, native));
                }
                batches++;
                progress?.Invoke(batches, loader.BatchCount);
            }
        }
        if (wasTraining) model.Train();
        int nb = Math.Max(1, batches);
        return new ValidationResult(stats.Compute(), box / nb, obj / nb, cls / nb, stats.Images, stats.Instances, clock.Elapsed.TotalSeconds)
        {
            Confusion = confusion,
        };
    }
}
