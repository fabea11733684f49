namespace YoloCore.Benchmarks;

/// One row of yolov5n_convs_320.csv: a convolution of yolov5n at 320×320 and how often it occurs.
public sealed record ConvShape(string Name, int Cin, int Cout, int K, int Stride, int Pad, int H, int W, int Count, bool InputGrad)
{
    public const int Batch = 8;

    public int Ho => (H + 2 * Pad - K) / Stride + 1;
    public int Wo => (W + 2 * Pad - K) / Stride + 1;

    /// GEMM sizes of the forward pass: M output pixels, N = Cout, K = k·k·Cin.
    public (int M, int N, int K) Gemm => (Batch * Ho * Wo, Cout, K * K * Cin);

    /// Multiply-adds ×2 of forward + weight gradient (+ input gradient when needed).
    public double TrainFlops
    {
        get
        {
            var (m, n, k) = Gemm;
            return 2.0 * m * n * k * (InputGrad ? 3 : 2);
        }
    }

    public override string ToString() => Name;

    public static IReadOnlyList<ConvShape> Load(string? path = null)
    {
        path ??= Path.Combine(AppContext.BaseDirectory, "yolov5n_convs_320.csv");
        return File.ReadLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l =>
        {
            var f = l.Split(',');
            int I(int i) => int.Parse(f[i]);
            return new ConvShape(f[0], I(1), I(2), I(3), I(4), I(5), I(6), I(7), I(8), I(9) != 0);
        }).ToList();
    }
}
