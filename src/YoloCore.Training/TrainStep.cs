using YoloCore.Autograd;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// What one training iteration reports.
public readonly record struct StepResult(double Loss, double Box, double Obj, double Cls, bool Stepped, bool Skipped);

/// One YOLOv5 training iteration: images to the compute dtype (float16 under mixed precision,
/// scaled to [0, 1]), forward, the loss in float32, scaled backward, and, when this iteration
/// closes an accumulation window, unscale + inf/NaN check, gradient clipping at norm 10, the
/// optimizer step and the EMA update. Everything it allocates is freed when it returns.
/// In data-parallel training the reducer averages gradients across ranks during the backward that
/// closes an accumulation window (earlier ones accumulate locally), and the loss is multiplied by
/// the world size first (YOLOv5's `loss *= WORLD_SIZE`), so the averaged
/// gradient is the one process's with the combined batch would get.
public sealed class TrainStep(YoloModel model, YoloLoss loss, IOptimizer optimizer, ModelEma? ema, GradScaler scaler,
    DType computeType, double maxGradNorm = 10.0, YoloCore.Distributed.DataParallelReducer? reducer = null, int worldSize = 1)
{
    public DType ComputeType { get; } = computeType;

    /// images: NHWC uint8 (as the loader gives them) or floating in [0, 1], on the model's device.
    public StepResult Run(Tensor images, double[] targets, bool optimizerStep, PhaseTimer? timer = null)
    {
        using var scope = TensorScope.Begin();
        timer?.Start();
        var x = images.DType == DType.UInt8
            ? YoloModel.Input(images, ComputeType)
            : images.DType == ComputeType ? images : images.Cast(ComputeType);
        var heads = model.ForwardHeads(x);
        timer?.Mark("forward");
        var heads32 = heads.Select(h => h.DType == DType.Float32 ? h : h.Cast(DType.Float32)).ToArray();
        var result = loss.Compute(heads32, targets);
        timer?.Mark("loss");
        double total = result.TotalValue; // the step's one read of the loss: total and items together
        if (!double.IsFinite(total))
            throw new NonFiniteLossException($"the loss is {total} (box {result.Box}, obj {result.Obj}, cls {result.Cls}): training cannot continue");
        var scaled = scaler.ScaleLoss(result.Total);
        // Only the backward that closes an accumulation window communicates (DDP's no_sync).
        reducer?.BeginBackward(sync: optimizerStep);
        (worldSize > 1 ? scaled * worldSize : scaled).Backward();
        if (optimizerStep) reducer?.WaitAndAverage();
        timer?.Mark("backward");
        bool stepped = false, skipped = false;
        if (optimizerStep)
        {
            var parameters = model.Parameters().ToList();
            bool finite = scaler.Unscale(parameters);
            if (finite)
            {
                var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
                optimizer.Step(GradientClipping.Coefficient(grads, maxGradNorm, out _));
                stepped = true;
            }
            else skipped = true;
            scaler.Update(finite);
            optimizer.ZeroGrad();
            timer?.Mark("optimizer");
            // As train.py: the EMA follows every optimizer step, taken or skipped (it counts updates).
            if (ema is not null)
            {
                using var _ = GradMode.NoGrad();
                ema.Update();
            }
            timer?.Mark("ema");
        }
        return new StepResult(total, result.Box, result.Obj, result.Cls, stepped, skipped);
    }
}

/// Training stops on a non-finite loss with this message rather than continuing with NaN weights.
public sealed class NonFiniteLossException(string message) : Exception(message);
