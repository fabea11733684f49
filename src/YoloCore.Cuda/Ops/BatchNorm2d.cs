namespace YoloCore.Cuda;

// batchnorm2d.cu: BatchNorm2d over the N·H·W rows of NHWC activations, statistics in float32.
public sealed unsafe partial class CudaBackend
{
    const int RowsPerChunk = 512;

    /// Σ over rows of (a - shiftA)·(b - shiftB) per channel (b null: factor 1), as float32 [C],
    /// written into result (converted when result is float16).
    void ChannelSums(Tensor a, Tensor? b, Tensor? shiftA, Tensor? shiftB, long rows, int c, Tensor result)
    {
        int chunks = (int)Math.Max(1, (rows + RowsPerChunk - 1) / RowsPerChunk);
        using var partial = Tensor.Empty(new Shape(chunks, c), DType.Float32, Device);
        // Blocks of 32 channels × 8 row lanes over chunks of rows, then one block per channel.
        kernel.ChannelPartialSums(Suffix(a, "BatchNorm2d"), Work.Grid((uint)chunks, (uint)((c + 31) / 32), 1), Ptr(a), PtrOrNull(b), PtrOrNull(shiftA), PtrOrNull(shiftB), Ptr(partial), rows, c, RowsPerChunk);
        var target = result.DType == DType.Float32 ? result : Tensor.Empty(result.Shape, DType.Float32, Device);
        kernel.ChannelFinalizeSums(Work.Grid((uint)Math.Min(c, 65535), 1, 1), Ptr(partial), Ptr(target), chunks, c);
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
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) =>
        Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, silu: true);

    /// Batch statistics, running statistics, then y = x·scale + shift (and SiLU).
    void Train(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd, bool silu)
    {
        RequireFloat32Stats(gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        int c = x.Shape[3];
        long rows = x.Count / c;
        using var sums = Tensor.Empty(new Shape(c), DType.Float32, Device);
        ChannelSums(x, null, null, null, rows, c, sums);
        kernel.BnMean(c, Ptr(sums), Ptr(saveMean), c, rows);
        using var centredSq = Tensor.Empty(new Shape(c), DType.Float32, Device);
        ChannelSums(x, x, saveMean, saveMean, rows, c, centredSq);
        using var scale = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using var shift = Tensor.Empty(new Shape(c), DType.Float32, Device);
        kernel.BnTrainFinalize(c, Ptr(centredSq), Ptr(saveMean), Ptr(saveInvStd), Ptr(runningMean), Ptr(runningVar), Ptr(gamma), Ptr(beta), Ptr(scale), Ptr(shift), c, rows, (float)momentum, (float)eps);
        Apply(x, y, scale, shift, silu);
    }

    public void BatchNormEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y)
    {
        RequireFloat32Stats(gamma, beta, runningMean, runningVar);
        int c = x.Shape[3];
        using var scale = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using var shift = Tensor.Empty(new Shape(c), DType.Float32, Device);
        kernel.BnEvalAffine(c, Ptr(runningMean), Ptr(runningVar), Ptr(gamma), Ptr(beta), Ptr(scale), Ptr(shift), c, (float)eps);
        Apply(x, y, scale, shift, silu: false);
    }

    /// The per-channel kernels index with 32-bit arithmetic.
    static void Require32BitIndex(Tensor x)
    {
        if (x.Count >= 1L << 32) throw new NotSupportedException($"BatchNorm on CUDA handles up to 2^32 elements per call, got {x}");
    }

    void Apply(Tensor x, Tensor y, Tensor scale, Tensor shift, bool silu)
    {
        Require32BitIndex(x);
        string t = Suffix(x, "BatchNorm2d");
        if (silu) kernel.BnSiluApply(t, x.Count, Ptr(x), Ptr(y), Ptr(scale), Ptr(shift), x.Count, x.Shape[3]);
        else kernel.BnApply(t, x.Count, Ptr(x), Ptr(y), Ptr(scale), Ptr(shift), x.Count, x.Shape[3]);
    }

    public void BatchNormBackward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta)
    {
        RequireFloat32Stats(gamma, saveMean, saveInvStd);
        int c = x.Shape[3];
        long rows = x.Count / c;
        using var sumGy = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using var sumGyXc = Tensor.Empty(new Shape(c), DType.Float32, Device);
        ChannelSums(gy, null, null, null, rows, c, sumGy);
        ChannelSums(gy, x, null, saveMean, rows, c, sumGyXc);
        using var k = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using var m1 = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using var m2 = Tensor.Empty(new Shape(c), DType.Float32, Device);
        kernel.BnBackwardCoefficients(c, Ptr(sumGy), Ptr(sumGyXc), Ptr(saveInvStd), Ptr(gamma), PtrOrNull(ggamma), PtrOrNull(gbeta), Ptr(k), Ptr(m1), Ptr(m2), c, rows);
        if (gx is null) return;
        Require32BitIndex(x);
        kernel.BnInputGrad(Suffix(x, "BatchNorm2d"), x.Count, Ptr(x), Ptr(gy), Ptr(gx), Ptr(saveMean), Ptr(k), Ptr(m1), Ptr(m2), x.Count, c);
    }

    /// Back through SiLU at z recomputed from x and the saved statistics, into a temporary, then
    /// BatchNorm's backward on that.
    public void BatchNormSiluBackward(Tensor x, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd,
        Tensor? gx, Tensor? ggamma, Tensor? gbeta)
    {
        RequireFloat32Stats(gamma, beta, saveMean, saveInvStd);
        Require32BitIndex(x);
        using var g = Tensor.Empty(x.Shape, x.DType, Device);
        kernel.BnSiluGrad(Suffix(x, "BatchNormSilu"), x.Count, Ptr(x), Ptr(gy), Ptr(g), Ptr(saveMean), Ptr(saveInvStd), Ptr(gamma), Ptr(beta), x.Count, x.Shape[3]);
        BatchNormBackward(x, g, gamma, saveMean, saveInvStd, gx, ggamma, gbeta);
    }
}
