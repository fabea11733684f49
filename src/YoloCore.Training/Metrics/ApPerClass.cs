namespace YoloCore.Training.Metrics;

/// Per-class and mean detection metrics as YOLOv5 v7.0 reports them.
public sealed record DetectionMetrics(int[] Classes, int[] Targets, double[] Precision, double[] Recall, double[] F1, double[,] Ap)
{
    /// The curves behind them, for PR_curve.png and friends (null when nothing was collected).
    public MetricCurves? Curves { get; init; }

    /// AP@0.5 per class (first IoU threshold).
    public double Ap50(int i) => Ap[i, 0];

    /// AP@0.5:0.95 per class (mean over the ten thresholds).
    public double ApMean(int i) => Enumerable.Range(0, Ap.GetLength(1)).Average(t => Ap[i, t]);

    public double MeanPrecision => Precision.Length == 0 ? 0 : Precision.Average();
    public double MeanRecall => Recall.Length == 0 ? 0 : Recall.Average();
    public double Map50 => Classes.Length == 0 ? 0 : Enumerable.Range(0, Classes.Length).Average(Ap50);
    public double Map => Classes.Length == 0 ? 0 : Enumerable.Range(0, Classes.Length).Average(ApMean);

    /// YOLOv5's fitness: 0.1·mAP@0.5 + 0.9·mAP@0.5:0.95.
    public double Fitness => 0.1 * Map50 + 0.9 * Map;
}

/// What YOLOv5 plots after validation, per class (rows) at 1000 points X in [0, 1]: precision at
/// recall X for IoU 0.5 (PR_curve.png), and precision, recall and F1 at confidence X
/// (P_curve.png, R_curve.png, F1_curve.png). Rows of PrecisionAtRecall are NaN for classes without
/// predictions.
public sealed record MetricCurves(double[] X, double[,] PrecisionAtRecall, double[,] PrecisionAtConf, double[,] RecallAtConf, double[,] F1AtConf);

/// YOLOv5 v7.0's ap_per_class and compute_ap (101-point interpolation): detections sorted by
/// confidence; per class, precision and recall curves over cumulative true/false positives;
/// precision and recall reported at the confidence that maximises the class-mean F1 (smoothed).
public static class ApPerClass
{
    const double Eps = 1e-16;

    /// tp[i, t]: detection i is correct at IoU threshold t; conf and predClass per detection;
    /// targetClass per ground-truth box.
    public static DetectionMetrics Compute(bool[,] tp, double[] conf, int[] predClass, int[] targetClass)
    {
        int nd = conf.Length, nt = tp.GetLength(1);
        // np.argsort(-conf): by confidence, highest first (stable for ties).
        var order = Enumerable.Range(0, nd).OrderByDescending(i => conf[i]).ToArray();
        var classes = targetClass.Distinct().OrderBy(c => c).ToArray();
        var counts = classes.Select(c => targetClass.Count(t => t == c)).ToArray();
        var px = NumpyInterp.Linspace01(1000);
        int nc = classes.Length;
        var ap = new double[nc, nt];
        var p = new double[nc, 1000];
        var r = new double[nc, 1000];
        var prCurve = new double[nc, 1000]; // NaN rows: classes without predictions (YOLOv5 leaves them out)
        for (int ci = 0; ci < nc; ci++) for (int k = 0; k < 1000; k++) prCurve[ci, k] = double.NaN;
        for (int ci = 0; ci < nc; ci++)
        {
            var idx = order.Where(i => predClass[i] == classes[ci]).ToArray();
            int nl = counts[ci];
            if (idx.Length == 0 || nl == 0) continue;
            var negConf = idx.Select(i => -conf[i]).ToArray();
            var recall = new double[nt][];
            var precision = new double[nt][];
            for (int t = 0; t < nt; t++)
            {
                recall[t] = new double[idx.Length];
                precision[t] = new double[idx.Length];
                double tpc = 0, fpc = 0;
                for (int k = 0; k < idx.Length; k++)
                {
                    if (tp[idx[k], t]) tpc++; else fpc++;
                    recall[t][k] = tpc / (nl + Eps);
                    precision[t][k] = tpc / (tpc + fpc);
                }
            }
            for (int k = 0; k < 1000; k++)
            {
                r[ci, k] = NumpyInterp.Interp(-px[k], negConf, recall[0], left: 0);
                p[ci, k] = NumpyInterp.Interp(-px[k], negConf, precision[0], left: 1);
            }
            for (int t = 0; t < nt; t++)
            {
                ap[ci, t] = ComputeAp(recall[t], precision[t], out var mrec, out var mpre);
                if (t == 0) for (int k = 0; k < 1000; k++) prCurve[ci, k] = NumpyInterp.Interp(px[k], mrec, mpre);
            }
        }
        var f1 = new double[nc, 1000];
        var meanF1 = new double[1000];
        for (int k = 0; k < 1000; k++)
        {
            for (int ci = 0; ci < nc; ci++)
            {
                f1[ci, k] = 2 * p[ci, k] * r[ci, k] / (p[ci, k] + r[ci, k] + Eps);
                meanF1[k] += f1[ci, k];
            }
            if (nc > 0) meanF1[k] /= nc;
        }
        int best = ArgMax(Smooth(meanF1, 0.1));
        return new DetectionMetrics(classes, counts,
            Enumerable.Range(0, nc).Select(ci => p[ci, best]).ToArray(),
            Enumerable.Range(0, nc).Select(ci => r[ci, best]).ToArray(),
            Enumerable.Range(0, nc).Select(ci => f1[ci, best]).ToArray(), ap)
        {
            Curves = new MetricCurves(px, prCurve, p, r, f1),
        };
    }

    /// compute_ap: append sentinels, make precision monotone, integrate at 101 recall points.
    public static double ComputeAp(double[] recall, double[] precision) => ComputeAp(recall, precision, out _, out _);

    /// The same, also giving the monotone precision envelope (mpre) over recall (mrec).
    public static double ComputeAp(double[] recall, double[] precision, out double[] mrec, out double[] mpre)
    {
        mrec = new double[recall.Length + 2];
        mpre = new double[precision.Length + 2];
        mrec[0] = 0; mrec[^1] = 1;
        mpre[0] = 1; mpre[^1] = 0;
        recall.CopyTo(mrec, 1);
        precision.CopyTo(mpre, 1);
        for (int i = mpre.Length - 2; i >= 0; i--) mpre[i] = Math.Max(mpre[i], mpre[i + 1]);
        var x = NumpyInterp.Linspace01(101);
        var (r, p) = (mrec, mpre);
        var y = x.Select(v => NumpyInterp.Interp(v, r, p)).ToArray();
        return NumpyInterp.Trapz(y, x);
    }

    /// YOLOv5's smooth: a box filter of odd width round(len·f·2)//2 + 1, edges padded with the end values.
    static double[] Smooth(double[] y, double f)
    {
        int nf = (int)Math.Round(y.Length * f * 2, MidpointRounding.ToEven) / 2 + 1;
        int half = nf / 2;
        var padded = new double[y.Length + 2 * half];
        for (int i = 0; i < padded.Length; i++) padded[i] = y[Math.Clamp(i - half, 0, y.Length - 1)];
        var r = new double[y.Length];
        for (int i = 0; i < r.Length; i++)
        {
            double s = 0;
            for (int k = 0; k < nf; k++) s += padded[i + k];
            r[i] = s / nf;
        }
        return r;
    }

    static int ArgMax(double[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
