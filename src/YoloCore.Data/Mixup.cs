namespace YoloCore.Data;

/// YOLOv5's mixup: blend two equally sized images with r ~ Beta(32, 32) (so r is near 0.5),
/// truncating to uint8, and keep the labels of both.
public static class Mixup
{
    public static void Apply(RgbImage im, RgbImage other, double r)
    {
        var a = im.Pixels;
        var b = other.Pixels;
        for (int i = 0; i < a.Length; i++) a[i] = (byte)(int)(a[i] * r + b[i] * (1 - r));
    }

    public static double Beta(Rng rng, double alpha, double beta)
    {
        double x = Gamma(rng, alpha), y = Gamma(rng, beta);
        return x / (x + y);
    }

    /// Marsaglia and Tsang's method (shape ≥ 1).
    static double Gamma(Rng rng, double shape)
    {
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x = rng.Normal(), v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = rng.NextDouble();
            if (Math.Log(1 - u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }
}
