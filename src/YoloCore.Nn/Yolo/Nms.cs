namespace YoloCore.Nn.Yolo;

/// One kept detection: corners in input pixels, score = objectness × best class score, class.
public readonly record struct Detection(double X1, double Y1, double X2, double Y2, double Score, int Class);

/// YOLOv5 v7.0's non_max_suppression for one image: drop rows with objectness ≤ conf, score each
/// row by obj × class score (the best class, or with multiLabel every class above conf, as val.py
/// asks for), drop scores ≤ conf and classes not asked for (detect.py's --classes), sort by score (descending; keep the first max_nms), then greedy
/// NMS per class (boxes offset by class × 7680, suppress IoU > iou_thres, as torchvision.ops.nms)
/// and keep at most max_det.
public static class Nms
{
    const double MaxWh = 7680;

    /// pred: N rows of (x, y, w, h, obj, class scores...) for one image, as Detect.Decode gives.
    public static List<Detection> Run(ReadOnlySpan<float> pred, int no, double confThres = 0.25, double iouThres = 0.45,
        int maxDet = 300, int maxNms = 30000, bool agnostic = false, bool multiLabel = false, IReadOnlySet<int>? classes = null)
    {
        if (confThres < 0 || confThres > 1 || iouThres < 0 || iouThres > 1)
            throw new ArgumentOutOfRangeException(nameof(confThres), $"thresholds must be in [0, 1] (conf {confThres}, iou {iouThres})");
        int nc = no - 5, n = pred.Length / no;
        var candidates = new List<Detection>();
        for (int r = 0; r < n; r++)
        {
            var row = pred.Slice(r * no, no);
            double obj = row[4];
            if (!(obj > confThres)) continue;
            double x = row[0], y = row[1], hw = row[2] / 2, hh = row[3] / 2;
            if (multiLabel && nc > 1)
            {
                // torch.nonzero order: row by row, classes ascending.
                for (int c = 0; c < nc; c++)
                {
                    double s = row[5 + c] * obj;
                    if (s > confThres) candidates.Add(new Detection(x - hw, y - hh, x + hw, y + hh, s, c));
                }
                continue;
            }
            int best = 0;
            double bestScore = row[5] * obj;
            for (int c = 1; c < nc; c++)
            {
                double s = row[5 + c] * obj;
                if (s > bestScore) { bestScore = s; best = c; }
            }
            if (!(bestScore > confThres)) continue;
            candidates.Add(new Detection(x - hw, y - hh, x + hw, y + hh, bestScore, best));
        }
        if (classes is not null) candidates.RemoveAll(d => !classes.Contains(d.Class));
        // Stable descending sort: ties keep prediction order.
        var sorted = candidates.Select((d, i) => (d, i)).OrderByDescending(p => p.d.Score).ThenBy(p => p.i).Select(p => p.d).Take(maxNms).ToList();
        var kept = new List<Detection>();
        var suppressed = new bool[sorted.Count];
        for (int i = 0; i < sorted.Count && kept.Count < maxDet; i++)
        {
            if (suppressed[i]) continue;
            var a = sorted[i];
            kept.Add(a);
            for (int j = i + 1; j < sorted.Count; j++)
                if (!suppressed[j] && (agnostic || sorted[j].Class == a.Class) && Iou(a, sorted[j]) > iouThres) suppressed[j] = true;
        }
        return kept;
    }

    /// IoU of two corner boxes (no eps, as torchvision). Class offsets cancel within a class.
    public static double Iou(Detection a, Detection b)
    {
        double iw = Math.Min(a.X2, b.X2) - Math.Max(a.X1, b.X1), ih = Math.Min(a.Y2, b.Y2) - Math.Max(a.Y1, b.Y1);
        if (iw <= 0 || ih <= 0) return 0;
        double inter = iw * ih;
        double union = (a.X2 - a.X1) * (a.Y2 - a.Y1) + (b.X2 - b.X1) * (b.Y2 - b.Y1) - inter;
        return union > 0 ? inter / union : 0;
    }

    /// Runs NMS for every image of a [B, N, 5 + nc] prediction tensor.
    public static List<Detection>[] Run(Tensor pred, double confThres = 0.25, double iouThres = 0.45, int maxDet = 300, bool agnostic = false,
        bool multiLabel = false, IReadOnlySet<int>? classes = null)
    {
        int bs = pred.Shape[0], no = pred.Shape[2];
        var host = pred.DType == DType.Float32 ? pred.ToArray<float>() : pred.ToDoubles().Select(v => (float)v).ToArray();
        var per = host.Length / bs;
        return Enumerable.Range(0, bs).Select(b => Run(host.AsSpan(b * per, per), no, confThres, iouThres, maxDet, agnostic: agnostic, multiLabel: multiLabel, classes: classes)).ToArray();
    }
}
