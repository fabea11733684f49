namespace YoloCore.Training.Metrics;

/// The few NumPy routines YOLOv5's metrics are written in, reproduced exactly (including numpy's
/// handling of repeated x values), so our mAP equals YOLOv5's to the last digits.
internal static class NumpyInterp
{
    /// np.interp(x, xp, fp, left, right) for increasing (possibly repeated) xp.
    public static double Interp(double x, IReadOnlyList<double> xp, IReadOnlyList<double> fp, double? left = null, double? right = null)
    {
        int n = xp.Count;
        if (x > xp[n - 1]) return right ?? fp[n - 1];
        if (x < xp[0]) return left ?? fp[0];
        // The last j with xp[j] <= x (numpy's binary search lands on the last of repeated values).
        int lo = 0, hi = n - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (xp[mid] <= x) lo = mid; else hi = mid - 1;
        }
        int j = lo;
        if (x == xp[j] || j == n - 1) return fp[j];
        double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
        double r = slope * (x - xp[j]) + fp[j];
        if (double.IsNaN(r))
        {
            r = slope * (x - xp[j + 1]) + fp[j + 1];
            if (double.IsNaN(r) && fp[j] == fp[j + 1]) r = fp[j];
        }
        return r;
    }

    /// np.linspace(0, 1, n): i·(1/(n-1)), with the last value exactly 1.
    public static double[] Linspace01(int n)
    {
        double step = 1.0 / (n - 1);
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = i * step;
        r[n - 1] = 1.0;
        return r;
    }

    /// np.trapz(y, x)
    public static double Trapz(double[] y, double[] x)
    {
        double s = 0;
        for (int i = 0; i + 1 < x.Length; i++) s += (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0;
        return s;
    }
}
