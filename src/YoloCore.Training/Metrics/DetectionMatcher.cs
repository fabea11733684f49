namespace YoloCore.Training.Metrics;

/// A ground-truth box in pixels (corners) with its class.
public readonly record struct GroundTruthBox(int Class, double X1, double Y1, double X2, double Y2);

/// YOLOv5 v7.0 val.py's process_batch: which detections are true positives at each IoU threshold.
/// Candidate (label, detection) pairs of the same class with IoU ≥ threshold are sorted by IoU
/// (highest first); each detection keeps its best pair; then, among pairs ordered by detection
/// index, each label keeps its first. (YOLOv5 does not re-sort by IoU before that second step, and
/// neither do we: the results must match its validator exactly.)
public static class DetectionMatcher
{
    public static readonly double[] IouThresholds = Enumerable.Range(0, 10).Select(i => 0.5 + 0.05 * i).ToArray();

    /// correct[d, t]: detection d is a true positive at threshold t.
    public static bool[,] Match(IReadOnlyList<YoloCore.Nn.Yolo.Detection> detections, IReadOnlyList<GroundTruthBox> labels, double[] thresholds)
    {
        var correct = new bool[detections.Count, thresholds.Length];
        if (labels.Count == 0 || detections.Count == 0) return correct;
        var iou = new double[labels.Count, detections.Count];
        for (int l = 0; l < labels.Count; l++)
            for (int d = 0; d < detections.Count; d++) iou[l, d] = BoxIou(labels[l], detections[d]);
        for (int t = 0; t < thresholds.Length; t++)
        {
            var pairs = new List<(int Label, int Det, double Iou)>();
            for (int l = 0; l < labels.Count; l++)
                for (int d = 0; d < detections.Count; d++)
                    if (iou[l, d] >= thresholds[t] && labels[l].Class == detections[d].Class) pairs.Add((l, d, iou[l, d]));
            if (pairs.Count > 1)
            {
                // Best IoU first; np.unique(return_index) then keeps each detection's first pair and
                // returns them ordered by detection index.
                var byIou = pairs.OrderByDescending(p => p.Iou).ToList();
                var perDet = byIou.GroupBy(p => p.Det).Select(g => g.First()).OrderBy(p => p.Det).ToList();
                pairs = perDet.GroupBy(p => p.Label).Select(g => g.First()).ToList();
            }
            foreach (var p in pairs) correct[p.Det, t] = true;
        }
        return correct;
    }

    /// YOLOv5's box_iou for corner boxes (eps 1e-7 in the denominator).
    public static double BoxIou(GroundTruthBox a, YoloCore.Nn.Yolo.Detection b)
    {
        double iw = Math.Max(0, Math.Min(a.X2, b.X2) - Math.Max(a.X1, b.X1));
        double ih = Math.Max(0, Math.Min(a.Y2, b.Y2) - Math.Max(a.Y1, b.Y1));
        double inter = iw * ih;
        return inter / ((a.X2 - a.X1) * (a.Y2 - a.Y1) + (b.X2 - b.X1) * (b.Y2 - b.Y1) - inter + 1e-7);
    }
}
