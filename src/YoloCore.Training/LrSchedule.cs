namespace YoloCore.Training;

/// YOLOv5 v7.0's learning-rate schedule and warmup. The epoch factor lf(epoch) multiplies each
/// group's initial lr (linear by default, cosine with --cos-lr); during the first
/// nw = max(round(warmup_epochs·nb), 100) iterations the bias group's lr falls from warmup_bias_lr
/// and the others rise from 0 to lr0·lf(epoch), momentum rises from warmup_momentum, and the
/// gradient accumulation grows from 1 to nbs/batch.
public sealed record LrSchedule(int Epochs, double Lr0, double Lrf, double Momentum, bool Cosine = false,
    double WarmupEpochs = 3.0, double WarmupMomentum = 0.8, double WarmupBiasLr = 0.1)
{
    /// lf(epoch): linear (1 - e/E)(1 - lrf) + lrf, or one_cycle's ((1 - cos(e·π/E))/2)(lrf - 1) + 1.
    public double Factor(int epoch) => Cosine
        ? (1 - Math.Cos(epoch * Math.PI / Epochs)) / 2 * (Lrf - 1) + 1
        : (1 - (double)epoch / Epochs) * (1.0 - Lrf) + Lrf;

    /// Warmup length in iterations for nb batches per epoch (0 when warmup_epochs is 0).
    public int WarmupIterations(int batchesPerEpoch) =>
        WarmupEpochs > 0 ? Math.Max((int)Math.Round(WarmupEpochs * batchesPerEpoch, MidpointRounding.ToEven), 100) : 0;

    /// Learning rate of parameter group j (0 = biases) at global iteration ni in epoch.
    public double GroupLr(int group, int ni, int epoch, int nw)
    {
        double target = Lr0 * Factor(epoch);
        if (ni > nw || nw == 0) return target;
        return Interp(ni, nw, group == 0 ? WarmupBiasLr : 0.0, target);
    }

    public double GroupMomentum(int ni, int nw) => ni > nw || nw == 0 ? Momentum : Interp(ni, nw, WarmupMomentum, Momentum);

    /// Optimizer steps happen every `accumulate` iterations: max(1, round(interp(ni, [0, nw], [1, nbs/batch]))).
    public static int Accumulate(int ni, int nw, int nominalBatch, int batch)
    {
        double full = (double)nominalBatch / batch;
        double v = ni > nw || nw == 0 ? Math.Max(Math.Round(full, MidpointRounding.ToEven), 1) : Interp(ni, nw, 1, full);
        return Math.Max(1, (int)Math.Round(v, MidpointRounding.ToEven));
    }

    /// np.interp(x, [0, nw], [a, b]) for 0 ≤ x ≤ nw.
    static double Interp(double x, double nw, double a, double b) => x >= nw ? b : a + (b - a) * (x / nw);
}
