namespace YoloCore.Nn.Yolo;

/// One kept detection: corners in input pixels, score = objectness × best class score, class.
public readonly record struct Detection(double X1, double Y1, double X2, double Y2, double Score, int Class);

/// YOLOv5 v7.0's non_max_suppression for one image, in its float32 arithmetic and order, so the
/// same boxes survive as in PyTorch (its float32 and float64 results differ on close calls):
/// keep rows with objectness > conf; scores obj × class score in float32; corners x ∓ w/2 in
/// float32; the best class (first on ties, as torch.max), or with multiLabel every class above
/// conf, row by row (torch.nonzero order); drop classes not asked for (detect.py's --classes);
/// order by PyTorch's unstable argsort (TorchArgsort) and keep the first max_nms; then
/// torchvision's NMS: boxes offset by class × 7680 in float32 (their coordinates round at that
/// magnitude), areas and IoU in float32, a box suppressed when its IoU with a kept one exceeds
/// iou_thres (compared in double, as torchvision's C++ does), at most max_det kept. Thresholds
/// compare as float32 against scores, as a PyTorch float32 tensor compares with a Python float.
public static class Nms
{
    const float MaxWh = 7680;

    /// pred: N rows of (x, y, w, h, obj, class scores...) for one image, as Detect.Decode gives.
    public static List<Detection> Run(ReadOnlySpan<float> pred, int no, double confThres = 0.25, double iouThres = 0.45,
        int maxDet = 300, int maxNms = 30000, bool agnostic = false, bool multiLabel = false, IReadOnlySet<int>? classes = null)
    {
        if (confThres < 0 || confThres > 1 || iouThres < 0 || iouThres > 1)
            throw new ArgumentOutOfRangeException(nameof(confThres), $"thresholds must be in [0, 1] (conf {confThres}, iou {iouThres})");
        int nc = no - 5, n = pred.Length / no;
        float conf = (float)confThres;
        multiLabel &= nc > 1;
        var boxes = new List<(float X1, float Y1, float X2, float Y2, float Score, int Class)>();
        for (int r = 0; r < n; r++)
        {
            var row = pred.Slice(r * no, no);
            float obj = row[4];
            if (!(obj > conf)) continue;
            float hw = row[2] / 2, hh = row[3] / 2;
            float x1 = row[0] - hw, y1 = row[1] - hh, x2 = row[0] + hw, y2 = row[1] + hh;
            if (multiLabel)
            {
                for (int c = 0; c < nc; c++)
                {
                    float s = row[5 + c] * obj;
                    if (s > conf) boxes.Add((x1, y1, x2, y2, s, c));
                }
                continue;
            }
            int best = 0;
            float bestScore = row[5] * obj;
            for (int c = 1; c < nc; c++)
            {
                float s = row[5 + c] * obj;
                if (s > bestScore) { bestScore = s; best = c; }
            }
            if (bestScore > conf) boxes.Add((x1, y1, x2, y2, bestScore, best));
        }
        if (classes is not null) boxes.RemoveAll(d => !classes.Contains(d.Class));
        var scores = boxes.Select(b => b.Score).ToArray();
        var order = TorchArgsort.Descending(scores);
        int m = Math.Min(order.Length, maxNms);
        // torchvision's nms: its own stable sort by score leaves this order as it is.
        var ox1 = new float[m]; var oy1 = new float[m]; var ox2 = new float[m]; var oy2 = new float[m]; var area = new float[m];
        for (int k = 0; k < m; k++)
        {
            var b = boxes[order[k]];
            float offset = agnostic ? 0 : b.Class * MaxWh;
            (ox1[k], oy1[k], ox2[k], oy2[k]) = (b.X1 + offset, b.Y1 + offset, b.X2 + offset, b.Y2 + offset);
            area[k] = (ox2[k] - ox1[k]) * (oy2[k] - oy1[k]);
        }
        var kept = new List<Detection>();
        var suppressed = new bool[m];
        for (int i = 0; i < m && kept.Count < maxDet; i++)
        {
            if (suppressed[i]) continue;
            var a = boxes[order[i]];
            kept.Add(new Detection(a.X1, a.Y1, a.X2, a.Y2, a.Score, a.Class));
            for (int j = i + 1; j < m; j++)
            {
                if (suppressed[j]) continue;
                float w = Math.Max(0f, Math.Min(ox2[i], ox2[j]) - Math.Max(ox1[i], ox1[j]));
                float h = Math.Max(0f, Math.Min(oy2[i], oy2[j]) - Math.Max(oy1[i], oy1[j]));
                float inter = w * h;
                float iou = inter / (area[i] + area[j] - inter);
                if (iou > iouThres) suppressed[j] = true;
            }
        }
        return kept;
    }

    /// IoU of two corner boxes (no eps, as torchvision), in double: for matching results.
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
