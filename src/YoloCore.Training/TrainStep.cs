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

    // The loss's targets in fixed-capacity device buffers, one set per capacity (a captured step
    // keeps reading the set it was captured with).
    readonly Dictionary<int, StagedLossInputs> lossBuffers = [];
    // Each input shape's head grids, learnt from its first (eager) run.
    readonly Dictionary<Shape, (int Ny, int Nx)[]> grids = [];
    // Captured steps by input shape, target capacity and kind (a micro-batch that only accumulates
    // gradients, or one that closes the window with the optimizer step), and how many steps of
    // each ran eagerly (the first creates the momentum buffers and the staged values a capture reads).
    readonly Dictionary<GraphKey, CapturedStep> graphs = [];
    readonly Dictionary<GraphKey, int> eagerRuns = [];

    readonly record struct GraphKey(Shape Images, DType DType, int Capacity, bool OptimizerStep);

    public DType ComputeType { get; } = computeType;

    readonly IReadOnlyList<Tensor> castWeights = YoloCore.Nn.Conv2d.Weights(model);

    /// Replay each step from a graph captured once (IGraphCapture: a CUDA graph), where the step
    /// allows it: an optimizer that queues device work only (SGD), one process, every trainable
    /// parameter's gradient buffer in place, and an input shape, target capacity and kind
    /// (accumulating micro-batch or optimizer step) seen once before (that run is eager: it
    /// creates the gradients and the optimizer's state and learns the shapes). With graphs the
    /// gradients are kept from step to step and zeroed in place after each optimizer step, so the
    /// addresses a graph reads and accumulates into stay the same. Any other step runs eagerly,
    /// as does everything when this is off.
    public bool UseGraphs { get; set; }

    /// At most this many graphs are kept: each holds a step's working set in its own memory pool,
    /// so many input shapes (--rect) would multiply the memory; other shapes run eagerly.
    public const int MaxGraphs = 4;

    /// Steps replayed from a graph, and graphs captured.
    public int Replays { get; private set; }
    public int Captures => graphs.Count;
    /// Ops in the largest captured graph (what one replay launches).
    public int GraphOps => graphs.Count == 0 ? 0 : graphs.Values.Max(g => g.Graph.Ops);

    /// images: NHWC uint8 (as the loader gives them) or floating in [0, 1], on the model's device.
    /// Read the result before running two more steps.
    public PendingStep Run(Tensor images, double[] targets, bool optimizerStep, PhaseTimer? timer = null)
    {
        PreparedTargets? prepared = null;
        if (KeepsGradients && GradientsInPlace() && grids.TryGetValue(images.Shape, out var g))
        {
            prepared = loss.Prepare(targets, images.Shape[0], g, anchorsLast: true);
            var staged = LossBuffers(prepared.MaxCount);
            var key = new GraphKey(images.Shape, images.DType, staged.Capacity, optimizerStep);
            if (graphs.TryGetValue(key, out var graph) && !graph.ReadsTheseGradients(model)) DropGraph(key);
            if (graphs.TryGetValue(key, out graph)) return Replay(graph, images, staged, prepared, timer);
            if (eagerRuns.GetValueOrDefault(key) > 0 && graphs.Count < MaxGraphs) return Replay(Capture(key, images, staged), images, staged, prepared, timer);
        }
        using var scope = TensorScope.Begin();
        var (items, found, capacity) = Queue(images, targets, prepared, null, optimizerStep, timer);
        var ran = new GraphKey(images.Shape, images.DType, capacity, optimizerStep);
        eagerRuns[ran] = eagerRuns.GetValueOrDefault(ran) + 1;
        return Download(items, found, optimizerStep);
    }

    /// Graphs are in use and the step can be captured: an optimizer that queues device work only,
    /// one process. Then gradients are kept and zeroed in place (a graph holds their addresses).
    bool KeepsGradients => UseGraphs && optimizer.Capturable && reducer is null && worldSize == 1;

    /// Every trainable parameter has its gradient buffer, so a captured backward adds into
    /// buffers outside the graph instead of allocating them inside it.
    bool GradientsInPlace() => model.Parameters().All(p => !p.RequiresGrad || p.Grad is not null);

    /// A graph whose gradient buffers were replaced (gradients dropped outside the step) is
    /// stale: it goes, and the step is captured again with the buffers there are now.
    void DropGraph(GraphKey key)
    {
        graphs[key].Dispose();
        graphs.Remove(key);
    }

    /// The loss buffers for count targets per level.
    StagedLossInputs LossBuffers(int count)
    {
        int capacity = StagedLossInputs.CapacityFor(count);
        if (!lossBuffers.TryGetValue(capacity, out var b))
        {
            var dtype = ComputeType == DType.Float64 ? DType.Float64 : DType.Float32;
            lossBuffers[capacity] = b = new StagedLossInputs(model.Detect.Nl, capacity, dtype, model.Detect.Anchors.Device);
        }
        return b;
    }

    /// Queues one step: eagerly when targets are given (the loss's targets, prepared here unless
    /// they were, and the optimizer's and EMA's values sent where they are needed), or with all
    /// of them staged beforehand in `staged` and the optimizer and EMA (targets null: a step
    /// being captured, which must not copy from the host). Returns the loss buffers' capacity.
    (Tensor Items, Tensor? Found, int Capacity) Queue(Tensor images, double[]? targets, PreparedTargets? prepared, StagedLossInputs? staged,
        bool optimizerStep, PhaseTimer? timer)
    {
        timer?.Start();
        var x = images.DType == DType.UInt8
            ? YoloModel.Input(images, ComputeType)
            : images.DType == ComputeType ? images : images.Cast(ComputeType);
        Tensor[] heads;
        // Under mixed precision every convolution weight is cast in one launch, not one each.
        using (ComputeType == DType.Float32 ? null : CastCache.Begin(castWeights, ComputeType))
            heads = model.ForwardHeads(x, anchorsLast: true); // the loss reads the head convolutions' outputs as they are
        timer?.Mark("forward");
        if (targets is not null)
        {
            var g = heads.Select(h => (h.Shape[1], h.Shape[2])).ToArray();
            grids[images.Shape] = g;
            prepared ??= loss.Prepare(targets, images.Shape[0], g, anchorsLast: true);
            staged = LossBuffers(prepared.MaxCount);
            staged.Upload(prepared);
        }
        var result = loss.Compute(heads, staged!.Inputs); // float16 heads under AMP: the loss reads them as they are
        timer?.Mark("loss");
        // Only the backward that closes an accumulation window communicates (DDP's no_sync).
        reducer?.BeginBackward(sync: optimizerStep);
        using (var seed = scaler.BackwardSeed(result.Total, worldSize)) result.Total.Backward(seed);
        if (optimizerStep) reducer?.WaitAndAverage();
        timer?.Mark("backward");
        if (optimizerStep)
        {
            var parameters = model.Parameters().ToList();
            scaler.Unscale(parameters);
            var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
            if (targets is not null) optimizer.Stage();
            using (var coef = GradientClipping.Coefficient(grads, maxGradNorm))
                optimizer.Apply(coef, scaler.FoundNonFinite);
            scaler.Update();
            if (!KeepsGradients) optimizer.ZeroGrad();
            else if (grads.Count > 0) grads[0].Backend.Extension<IOptimizerKernels>().MultiTensorZero(grads);
            timer?.Mark("optimizer");
            // As train.py: the EMA follows every optimizer step, taken or skipped (it counts updates).
            if (ema is not null)
            {
                using var _ = GradMode.NoGrad();
                if (targets is not null) ema.Stage();
                ema.Apply();
            }
            timer?.Mark("ema");
        }
        return (result.Items, optimizerStep ? scaler.FoundNonFinite : null, staged.Capacity);
    }

    /// Captures the step for this input shape and capacity (runs nothing: Replay stages this
    /// step's values and runs it).
    CapturedStep Capture(GraphKey key, Tensor images, StagedLossInputs staged)
    {
        var capture = images.Backend.Extension<IGraphCapture>();
        var input = Tensor.EmptyUnscoped(images.Shape, images.DType, images.Device);
        capture.BeginCapture();
        try
        {
            using var scope = TensorScope.Begin();
            var (items, _, _) = Queue(input, null, null, staged, key.OptimizerStep, timer: null);
            var held = TensorScope.Escape(items);
            var graph = capture.EndCapture();
            return graphs[key] = new CapturedStep(graph, input, held, key.OptimizerStep, Gradients(model));
        }
        catch
        {
            capture.AbortCapture();
            input.Dispose();
            throw;
        }
    }

    /// The host half (this step's targets and, at an optimizer step, the optimizer's step and the
    /// EMA's update, staged), then the graph.
    PendingStep Replay(CapturedStep step, Tensor images, StagedLossInputs staged, PreparedTargets prepared, PhaseTimer? timer)
    {
        timer?.Start();
        staged.Upload(prepared);
        if (step.OptimizerStep)
        {
            optimizer.Stage();
            ema?.Stage();
        }
        images.Backend.Copy(images, step.Input);
        step.Graph.Replay();
        Replays++;
        timer?.Mark("replay");
        return Download(step.Items, step.OptimizerStep ? scaler.FoundNonFinite : null, step.OptimizerStep);
    }

    static Tensor?[] Gradients(YoloModel model) => model.Parameters().Select(p => p.Grad).ToArray();

    /// A captured step: the graph, the input buffer it reads, the items it writes, whether it
    /// closes an accumulation window, and the gradient buffers it adds into.
    sealed class CapturedStep(ICapturedGraph graph, Tensor input, Tensor items, bool optimizerStep, Tensor?[] gradients) : IDisposable
    {
        public ICapturedGraph Graph { get; } = graph;
        public Tensor Input { get; } = input;
        public Tensor Items { get; } = items;
        public bool OptimizerStep { get; } = optimizerStep;

        public bool ReadsTheseGradients(YoloModel model) => Gradients(model).SequenceEqual(gradients, ReferenceEqualityComparer.Instance);

        public void Dispose()
        {
            Items.Dispose();
            Input.Dispose();
            Graph.Dispose();
        }
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
        foreach (var g in graphs.Values) g.Dispose();
        graphs.Clear();
        foreach (var b in lossBuffers.Values) b.Dispose();
        lossBuffers.Clear();
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
