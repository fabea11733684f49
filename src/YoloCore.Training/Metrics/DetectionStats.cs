using YoloCore.Nn.Yolo;

namespace YoloCore.Training.Metrics;

/// Collects what val.py collects per image (true-positive flags at each IoU threshold, confidence,
/// predicted class, target classes) and turns it into YOLOv5's metrics.
public sealed class DetectionStats
{
    readonly List<bool[]> correct = [];
    readonly List<double> conf = [];
    readonly List<int> predClass = [];
    readonly List<int> targetClass = [];

    public int Images { get; private set; }
    public int Instances => targetClass.Count;

    /// One image's detections (after NMS) and ground truth, both in the same pixel frame.
    public void Add(IReadOnlyList<Detection> detections, IReadOnlyList<GroundTruthBox> labels)
    {
        Images++;
        foreach (var l in labels) targetClass.Add(l.Class);
        if (detections.Count == 0) return;
        var tp = DetectionMatcher.Match(detections, labels, DetectionMatcher.IouThresholds);
        for (int d = 0; d < detections.Count; d++)
        {
            var row = new bool[DetectionMatcher.IouThresholds.Length];
            for (int t = 0; t < row.Length; t++) row[t] = tp[d, t];
            correct.Add(row);
            conf.Add(detections[d].Score);
            predClass.Add(detections[d].Class);
        }
    }

    public DetectionMetrics Compute()
    {
        var tp = new bool[correct.Count, DetectionMatcher.IouThresholds.Length];
        for (int i = 0; i < correct.Count; i++)
            for (int t = 0; t < correct[i].Length; t++) tp[i, t] = correct[i][t];
        return ApPerClass.Compute(tp, conf.ToArray(), predClass.ToArray(), targetClass.ToArray());
    }
}
