namespace YoloCore.Cuda;

// batchnorm2d.cu: BatchNorm2d over the N·H·W rows of NHWC activations, statistics in float32,
// batch sums (Σx, Σx²) in float64.
public sealed unsafe partial class CudaBackend
{
    /// Rows per chunk: at least 512, and at most 1024 chunks, so that the last block's pass over
    /// the partials stays short next to the pass over the rows.
    const int MinRowsPerChunk = 512, MaxChunks = 1024;

    static int RowsPerChunk(long rows) => (int)Math.Max(MinRowsPerChunk, (rows + MaxChunks - 1) / MaxChunks);

    static int Chunks(long rows) => (int)Math.Max(1, (rows + RowsPerChunk(rows) - 1) / RowsPerChunk(rows));

    /// Blocks of 32 channels × 8 row lanes over chunks of rows (batchnorm2d.cu's per-channel kernels).
    static Work ChunkGrid(long rows, int c) => Work.Grid((uint)Chunks(rows), (uint)ChannelGroups(c), 1);

    static int ChannelGroups(int c) => (c + 31) / 32;

    /// Σ over rows of a per channel, written into result (float32, or converted when float16).
    void ChannelSums(Tensor a, long rows, int c, Tensor result)
    {
        using var partial = Tensor.Empty(new Shape(Chunks(rows), c), DType.Float32, Device);
        var target = result.DType == DType.Float32 ? result : Tensor.Empty(result.Shape, DType.Float32, Device);
        kernel.ChannelSums(Suffix(a, "BatchNorm2d"), ChunkGrid(rows, c), Ptr(a), Ptr(partial), Tickets(ChannelGroups(c)), Ptr(target), rows, c, RowsPerChunk(rows));
        if (!ReferenceEquals(target, result))
        {
            Copy(target, result);
            target.Dispose();
        }
    }

    static void RequireFloat32Stats(params Tensor[] ts)
    {
        foreach (var t in ts)
            if (t.DType != DType.Float32) throw new ArgumentException($"BatchNorm parameters and statistics are float32 on CUDA, got {t}");
    }

    public void BatchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) =>
        Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, silu: false);

    public void BatchNormSiluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd, Tensor? batchSums = null, Tensor? residual = null) =>
        Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, silu: true, batchSums, residual);

    /// Batch statistics (from batchSums when the convolution's epilogue gave them, else one pass
    /// over x), then in one kernel the running statistics and y = x·scale + shift (and SiLU).
    void Train(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd, bool silu, Tensor? batchSums = null, Tensor? residual = null)
    {
        RequireFloat32Stats(gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        int c = x.Shape[3];
        long rows = x.Count / c;
        if (batchSums is not null) BatchSums.Check(batchSums, c);
        var sums = batchSums ?? BatchSums.Empty(c, Device);
        if (batchSums is null) WriteBatchSums(x, sums);
        string t = Suffix(x, silu ? "BatchNormSilu" : "BatchNorm2d");
        if (silu) kernel.BnSiluTrainApply(t, ChunkGrid(rows, c), Ptr(x), PtrOrNull(residual), Ptr(y), Ptr(sums), Ptr(saveMean), Ptr(saveInvStd),
            Ptr(runningMean), Ptr(runningVar), Ptr(gamma), Ptr(beta), rows, c, RowsPerChunk(rows), (float)momentum, (float)eps);
        else kernel.BnTrainApply(t, ChunkGrid(rows, c), Ptr(x), 0, Ptr(y), Ptr(sums), Ptr(saveMean), Ptr(saveInvStd),
            Ptr(runningMean), Ptr(runningVar), Ptr(gamma), Ptr(beta), rows, c, RowsPerChunk(rows), (float)momentum, (float)eps);
        if (batchSums is null) sums.Dispose();
    }

    /// The convolution with BatchNorm's statistics finished in the implicit GEMM's epilogue where it
    /// runs (EpilogueSums.Stats), else by bn_silu_statistics from the batch sums.
    public void ConvBatchNormSiluDeferred(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, double momentum, double eps, Tensor saveMean, Tensor saveInvStd, Tensor map)
    {
        RequireFloat32Stats(gamma, beta, runningMean, runningVar, saveMean, saveInvStd, map);
        var stats = new BnStatistics
        {
            Mean = Ptr(saveMean), InvStd = Ptr(saveInvStd), RunningMean = Ptr(runningMean), RunningVar = Ptr(runningVar),
            Gamma = Ptr(gamma), Beta = Ptr(beta), Map = Ptr(map), Momentum = (float)momentum, Eps = (float)eps,
        };
        using var sums = BatchSums.Empty(w.Shape[0], Device);
        if (Convolve(x, w, null, g, y, sums, stats)) return;
        int c = w.Shape[0];
        kernel.BnSiluStatistics(c, Ptr(sums), y.Count / c, c, stats);
    }

    public void BatchNormSiluMap(Tensor x, Tensor map, Tensor y)
    {
        RequireFloat32Stats(map);
        Require32BitIndex(x);
        int c = x.Shape[3];
        kernel.BnSiluApply(Suffix(x, "BatchNormSilu"), x.Count, Ptr(x), Ptr(y), Ptr(map), Ptr(map) + (ulong)(4 * c), x.Count, c);
    }

    /// Σx and Σx² per channel over x's rows into sums (float64 [2, c]), in one pass over x.
    void WriteBatchSums(Tensor x, Tensor sums)
    {
        int c = x.Shape[x.Rank - 1];
        long rows = x.Count / c;
        using var partial = Tensor.Empty(new Shape(Chunks(rows), 2, c), DType.Float32, Device);
        kernel.BnSums(Suffix(x, "BatchNorm2d"), ChunkGrid(rows, c), Ptr(x), Ptr(partial), Tickets(ChannelGroups(c)), Ptr(sums), rows, c, RowsPerChunk(rows));
    }

    public void BatchNormEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y)
    {
        RequireFloat32Stats(gamma, beta, runningMean, runningVar);
        int c = x.Shape[3];
        using var scale = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using var shift = Tensor.Empty(new Shape(c), DType.Float32, Device);
        kernel.BnEvalAffine(c, Ptr(runningMean), Ptr(runningVar), Ptr(gamma), Ptr(beta), Ptr(scale), Ptr(shift), c, (float)eps);
        Apply(x, y, scale, shift);
    }

    /// The per-channel kernels index with 32-bit arithmetic.
    static void Require32BitIndex(Tensor x)
    {
        if (x.Count >= 1L << 32) throw new NotSupportedException($"BatchNorm on CUDA handles up to 2^32 elements per call, got {x}");
    }

    void Apply(Tensor x, Tensor y, Tensor scale, Tensor shift)
    {
        Require32BitIndex(x);
        kernel.BnApply(Suffix(x, "BatchNorm2d"), x.Count, Ptr(x), Ptr(y), Ptr(scale), Ptr(shift), x.Count, x.Shape[3]);
    }

    public void BatchNormBackward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta) =>
        Backward(x, gy, gamma, null, saveMean, saveInvStd, gx, ggamma, gbeta);

    public void BatchNormSiluBackward(Tensor x, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd,
        Tensor? gx, Tensor? ggamma, Tensor? gbeta) =>
        Backward(x, gy, gamma, beta, saveMean, saveInvStd, gx, ggamma, gbeta);

    /// Two passes over x and gy: Σg and Σg·(x - mean) per channel and from them the coefficients
    /// (one launch: its last block adds the chunks up), then gx; g is gy, or with β
    /// (BatchNorm + SiLU) gy·silu'(z) at z recomputed from x, in registers both times.
    void Backward(Tensor x, Tensor gy, Tensor gamma, Tensor? beta, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta)
    {
        using var coef = BackwardCoefficients(x, gy, gamma, beta, saveMean, saveInvStd, ggamma, gbeta);
        if (gx is not null) InputGradient(x, gy, beta is not null, coef, gx);
    }

    /// The backward's first pass: the parameter gradients, and the input gradient's coefficients
    /// per channel ([C, 8] float32, batchnorm2d.cuh), for InputGradient or a convolution's loads.
    Tensor BackwardCoefficients(Tensor x, Tensor gy, Tensor gamma, Tensor? beta, Tensor saveMean, Tensor saveInvStd, Tensor? ggamma, Tensor? gbeta)
    {
        RequireFloat32Stats(gamma, saveMean, saveInvStd);
        if (beta is not null) RequireFloat32Stats(beta);
        Require32BitIndex(x);
        int c = x.Shape[3];
        long rows = x.Count / c;
        string t = Suffix(x, beta is null ? "BatchNorm2d" : "BatchNormSilu");
        using var partial = Tensor.Empty(new Shape(Chunks(rows), 2, c), DType.Float32, Device); // Σg, Σg·(x - mean) per chunk
        var coef = Tensor.Empty(new Shape(c, BnCoefficients), DType.Float32, Device);
        ulong tickets = Tickets(ChannelGroups(c));
        if (beta is null) kernel.BnBackwardReduce(t, ChunkGrid(rows, c), Ptr(x), Ptr(gy), Ptr(saveMean), Ptr(saveInvStd), Ptr(gamma), 0, Ptr(partial), tickets,
            PtrOrNull(ggamma), PtrOrNull(gbeta), Ptr(coef), rows, c, RowsPerChunk(rows));
        else kernel.BnSiluBackwardReduce(t, ChunkGrid(rows, c), Ptr(x), Ptr(gy), Ptr(saveMean), Ptr(saveInvStd), Ptr(gamma), Ptr(beta), Ptr(partial), tickets,
            PtrOrNull(ggamma), PtrOrNull(gbeta), Ptr(coef), rows, c, RowsPerChunk(rows));
        return coef;
    }

    /// batchnorm2d.cuh's BN_COEFS: floats per channel of the input gradient's coefficients.
    const int BnCoefficients = 8;

    void InputGradient(Tensor x, Tensor gy, bool silu, Tensor coef, Tensor gx)
    {
        string t = Suffix(x, silu ? "BatchNormSilu" : "BatchNorm2d");
        if (silu) kernel.BnSiluInputGrad(t, x.Count, Ptr(x), Ptr(gy), Ptr(gx), Ptr(coef), x.Count, x.Shape[3]);
        else kernel.BnInputGrad(t, x.Count, Ptr(x), Ptr(gy), Ptr(gx), Ptr(coef), x.Count, x.Shape[3]);
    }
}
