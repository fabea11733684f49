namespace YoloCore.Data;

/// YOLOv5's box_candidates: after a geometric transform keep a box only if it is still more than
/// wh_thr pixels wide and high, its aspect ratio is below ar_thr, and it keeps more than area_thr of
/// its (scaled) original area.
public static class BoxCandidates
{
    public static bool Keep(double w1, double h1, double w2, double h2, double whThr = 2, double arThr = 100, double areaThr = 0.1, double eps = 1e-16)
    {
        double ar = Math.Max(w2 / (h2 + eps), h2 / (w2 + eps));
        return w2 > whThr && h2 > whThr && w2 * h2 / (w1 * h1 + eps) > areaThr && ar < arThr;
    }
}
