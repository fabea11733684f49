namespace YoloCore.Training.Metrics;

/// YOLOv5 v7.0's ConfusionMatrix (conf 0.25, IoU 0.45): rows are predicted classes, columns true
/// classes, with one more row and column for background. Per image, (label, detection) pairs with
/// IoU above the threshold are matched one to one, best IoU first, regardless of class; a matched
/// label counts at [detected class, true class], an unmatched one at [background, true class], and
/// an unmatched detection at [its class, background] — the last only in images where something
/// matched, as v7.0 does. Images without labels are not counted (val.py skips them).
public sealed class ConfusionMatrix(int classes, double conf = 0.25, double iouThres = 0.45)
{
    public int Classes { get; } = classes;
    /// counts[predicted, true], background last.
    public long[,] Counts { get; } = new long[classes + 1, classes + 1];

    public void Add(IReadOnlyList<YoloCore.Nn.Yolo.Detection> detections, IReadOnlyList<GroundTruthBox> labels)
    {
        if (labels.Count == 0) return;
        var dets = detections.Where(d => d.Score > conf).ToList();
        var pairs = new List<(int Label, int Det, double Iou)>();
        for (int l = 0; l < labels.Count; l++)
            for (int d = 0; d < dets.Count; d++)
            {
                double iou = DetectionMatcher.BoxIou(labels[l], dets[d]);
                if (iou > iouThres) pairs.Add((l, d, iou));
            }
        // Each detection keeps its best label, then each label its best detection.
        var matches = pairs.OrderByDescending(p => p.Iou).GroupBy(p => p.Det).Select(g => g.First())
            .OrderByDescending(p => p.Iou).GroupBy(p => p.Label).Select(g => g.First()).ToList();
        for (int l = 0; l < labels.Count; l++)
        {
            int gc = Math.Min(labels[l].Class, Classes);
            var match = matches.FirstOrDefault(m => m.Label == l, (-1, -1, 0));
            if (match.Det >= 0) Counts[Math.Min(dets[match.Det].Class, Classes), gc]++;
            else Counts[Classes, gc]++;
        }
        if (matches.Count == 0) return;
        for (int d = 0; d < dets.Count; d++)
            if (!matches.Any(m => m.Det == d)) Counts[Math.Min(dets[d].Class, Classes), Classes]++;
    }

    /// Each column divided by its total (what the plot shows: where each true class went).
    public double[,] ColumnNormalised()
    {
        int n = Classes + 1;
        var r = new double[n, n];
        for (int t = 0; t < n; t++)
        {
            double sum = 0;
            for (int p = 0; p < n; p++) sum += Counts[p, t];
            for (int p = 0; p < n; p++) r[p, t] = Counts[p, t] / (sum + 1e-9);
        }
        return r;
    }
}
