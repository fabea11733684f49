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
/// Run never waits for the device (with SGD): the loss scaler's check, skip and update and the
/// clipping coefficient stay there, and the loss items come back as a PendingStep, read after
/// the next step is queued (one step late, as a GPU trainer reads them).
public sealed class TrainStep(YoloModel model, YoloLoss loss, IOptimizer optimizer, ModelEma? ema, GradScaler scaler,
    DType computeType, double maxGradNorm = 10.0, YoloCore.Distributed.DataParallelReducer? reducer = null, int worldSize = 1) : IDisposable
{
    // Two pinned slots for the items and flag downloads: a step's slot is reused two steps later.
    const int Slots = 2, SlotBytes = 32;
    readonly nint[] slots = new nint[Slots];
    readonly int[] generation = new int[Slots];
    // The downloads a slot still has in flight (-1: none): released when read, reused or disposed,
    // so an unread result (bench never reads) neither leaks its fences nor races a freed slot.
    readonly (long Items, long Found)[] inFlight = [(-1, -1), (-1, -1)];
    IBackend? slotBackend;
    int runs;

    public DType ComputeType { get; } = computeType;

    /// images: NHWC uint8 (as the loader gives them) or floating in [0, 1], on the model's device.
    /// Read the result before running two more steps.
    public PendingStep Run(Tensor images, double[] targets, bool optimizerStep, PhaseTimer? timer = null)
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
        var scaled = scaler.ScaleLoss(result.Total);
        // Only the backward that closes an accumulation window communicates (DDP's no_sync).
        reducer?.BeginBackward(sync: optimizerStep);
        (worldSize > 1 ? scaled * worldSize : scaled).Backward();
        if (optimizerStep) reducer?.WaitAndAverage();
        timer?.Mark("backward");
        if (optimizerStep)
        {
            var parameters = model.Parameters().ToList();
            scaler.Unscale(parameters);
            var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
            using (var coef = GradientClipping.Coefficient(grads, maxGradNorm))
                optimizer.Step(coef, scaler.FoundNonFinite);
            scaler.Update();
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
        return Download(result.Items, optimizerStep ? scaler.FoundNonFinite : null, optimizerStep);
    }

    /// Queues the items (and the skip flag) into this step's pinned slot.
    PendingStep Download(Tensor items, Tensor? found, bool optimizerStep)
    {
        var backend = items.Backend;
        if (slotBackend is null)
        {
            slotBackend = backend;
            for (int i = 0; i < Slots; i++) slots[i] = backend.AllocatePinned(SlotBytes);
        }
        int slot = runs++ % Slots;
        Release(slot);
        generation[slot]++;
        long itemsFence = backend.DownloadAsync(items, slots[slot]);
        long foundFence = found is null ? -1 : backend.DownloadAsync(found, slots[slot] + 16);
        inFlight[slot] = (itemsFence, foundFence);
        return new PendingStep(this, slot, generation[slot], found is not null, optimizerStep);
    }

    /// Waits for the slot's downloads still in flight (a fence is waited on once).
    void Release(int slot)
    {
        var (items, found) = inFlight[slot];
        if (items >= 0) slotBackend!.HostWait(items);
        if (found >= 0) slotBackend!.HostWait(found);
        inFlight[slot] = (-1, -1);
    }

    internal unsafe StepResult Read(PendingStep p)
    {
        if (generation[p.Slot] != p.Generation)
            throw new InvalidOperationException("a training step's result was read after two more steps had run: read each step's result before the step after next");
        Release(p.Slot);
        float* items = (float*)slots[p.Slot];
        bool skipped = p.HasFlag && *(int*)(slots[p.Slot] + 16) != 0;
        var r = new StepResult(items[0], items[1], items[2], items[3], p.OptimizerStep && !skipped, skipped);
        if (!double.IsFinite(r.Loss))
            throw new NonFiniteLossException($"the loss is {r.Loss} (box {r.Box}, obj {r.Obj}, cls {r.Cls}): training cannot continue");
        return r;
    }

    public void Dispose()
    {
        if (slotBackend is null) return;
        for (int i = 0; i < Slots; i++)
        {
            Release(i);
            slotBackend.FreePinned(slots[i]);
        }
        slotBackend = null;
    }
}

/// A step's loss items and skip flag on their way to the host. Read() waits for them (and
/// throws NonFiniteLossException on a non-finite loss); the first Read caches the result.
public sealed class PendingStep
{
    readonly TrainStep step;
    StepResult? result;

    internal PendingStep(TrainStep step, int slot, int generation, bool hasFlag, bool optimizerStep)
    {
        this.step = step;
        (Slot, Generation, HasFlag, OptimizerStep) = (slot, generation, hasFlag, optimizerStep);
    }

    internal int Slot { get; }
    internal int Generation { get; }
    /// Whether the loss scaler's flag came down too (an optimizer step under mixed precision).
    internal bool HasFlag { get; }
    internal bool OptimizerStep { get; }

    public StepResult Read() => result ??= step.Read(this);
}

/// Training stops on a non-finite loss with this message rather than continuing with NaN weights.
public sealed class NonFiniteLossException(string message) : Exception(message);
