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
        using (var args = Args().Add(Ptr(a)).Add(PtrOrNull(b)).Add(PtrOrNull(shiftA)).Add(PtrOrNull(shiftB)).Add(Ptr(partial)).Add(rows).Add(c).Add(RowsPerChunk))
            Launch("batchnorm2d", "channel_partial_sums_" + Suffix(a, "BatchNorm2d"), 0, args, ((uint)chunks, (uint)((c + 31) / 32), 1));
        var target = result.DType == DType.Float32 ? result : Tensor.Empty(result.Shape, DType.Float32, Device);
        using (var args = Args().Add(Ptr(partial)).Add(Ptr(target)).Add(chunks).Add(c))
            Launch("batchnorm2d", "channel_finalize_sums", 0, args, ((uint)Math.Min(c, 65535), 1, 1));
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
        Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, "bn_apply_");

    public void BatchNormSiluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) =>
        Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, "bn_silu_apply_");

    /// Batch statistics, running statistics, then y = apply(x·scale + shift) with the named kernel.
    void Train(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd, string applyKernel)
    {
        RequireFloat32Stats(gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        int c = x.Shape[3];
        long rows = x.Count / c;
        using var sums = Tensor.Empty(new Shape(c), DType.Float32, Device);
        ChannelSums(x, null, null, null, rows, c, sums);
        using (var args = Args().Add(Ptr(sums)).Add(Ptr(saveMean)).Add(c).Add(rows))
            Launch("batchnorm2d", "bn_mean", c, args);
        using var centredSq = Tensor.Empty(new Shape(c), DType.Float32, Device);
        ChannelSums(x, x, saveMean, saveMean, rows, c, centredSq);
        using var scale = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using var shift = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using (var args = Args().Add(Ptr(centredSq)).Add(Ptr(saveMean)).Add(Ptr(saveInvStd)).Add(Ptr(runningMean)).Add(Ptr(runningVar))
                   .Add(Ptr(gamma)).Add(Ptr(beta)).Add(Ptr(scale)).Add(Ptr(shift)).Add(c).Add(rows).Add((float)momentum).Add((float)eps))
            Launch("batchnorm2d", "bn_train_finalize", c, args);
        Apply(x, y, scale, shift, applyKernel);
    }

    public void BatchNormEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y)
    {
        RequireFloat32Stats(gamma, beta, runningMean, runningVar);
        int c = x.Shape[3];
        using var scale = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using var shift = Tensor.Empty(new Shape(c), DType.Float32, Device);
        using (var args = Args().Add(Ptr(runningMean)).Add(Ptr(runningVar)).Add(Ptr(gamma)).Add(Ptr(beta)).Add(Ptr(scale)).Add(Ptr(shift)).Add(c).Add((float)eps))
            Launch("batchnorm2d", "bn_eval_affine", c, args);
        Apply(x, y, scale, shift, "bn_apply_");
    }

    /// The per-channel kernels index with 32-bit arithmetic.
    static void Require32BitIndex(Tensor x)
    {
        if (x.Count >= 1L << 32) throw new NotSupportedException($"BatchNorm on CUDA handles up to 2^32 elements per call, got {x}");
    }

    void Apply(Tensor x, Tensor y, Tensor scale, Tensor shift, string kernel)
    {
        Require32BitIndex(x);
        using var args = Args().Add(Ptr(x)).Add(Ptr(y)).Add(Ptr(scale)).Add(Ptr(shift)).Add(x.Count).Add(x.Shape[3]);
        Launch("batchnorm2d", kernel + Suffix(x, "BatchNorm2d"), x.Count, args);
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
        using (var args = Args().Add(Ptr(sumGy)).Add(Ptr(sumGyXc)).Add(Ptr(saveInvStd)).Add(Ptr(gamma)).Add(PtrOrNull(ggamma)).Add(PtrOrNull(gbeta))
                   .Add(Ptr(k)).Add(Ptr(m1)).Add(Ptr(m2)).Add(c).Add(rows))
            Launch("batchnorm2d", "bn_backward_coefficients", c, args);
        if (gx is null) return;
        Require32BitIndex(x);
        using (var args = Args().Add(Ptr(x)).Add(Ptr(gy)).Add(Ptr(gx)).Add(Ptr(saveMean)).Add(Ptr(k)).Add(Ptr(m1)).Add(Ptr(m2)).Add(x.Count).Add(c))
            Launch("batchnorm2d", "bn_input_grad_" + Suffix(x, "BatchNorm2d"), x.Count, args);
    }

    /// Back through SiLU at z recomputed from x and the saved statistics, into a temporary, then
    /// BatchNorm's backward on that.
    public void BatchNormSiluBackward(Tensor x, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd,
        Tensor? gx, Tensor? ggamma, Tensor? gbeta)
    {
        RequireFloat32Stats(gamma, beta, saveMean, saveInvStd);
        Require32BitIndex(x);
        using var g = Tensor.Empty(x.Shape, x.DType, Device);
        using (var args = Args().Add(Ptr(x)).Add(Ptr(gy)).Add(Ptr(g)).Add(Ptr(saveMean)).Add(Ptr(saveInvStd)).Add(Ptr(gamma)).Add(Ptr(beta))
                   .Add(x.Count).Add(x.Shape[3]))
            Launch("batchnorm2d", "bn_silu_grad_" + Suffix(x, "BatchNormSilu"), x.Count, args);
        BatchNormBackward(x, g, gamma, saveMean, saveInvStd, gx, ggamma, gbeta);
    }
}
