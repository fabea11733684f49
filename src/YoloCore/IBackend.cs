namespace YoloCore;

/// The operations a device backend implements. The caller (the autograd layer in Ops) allocates
/// every output with the right shape and dtype on the backend's device; the backend only
/// computes. Layouts: activations NHWC, convolution weights OHWI ([Cout, kh, kw, Cin]).
/// Every method has a CPU implementation (the float32/float64 reference) and a CUDA one. Fused
/// ops that belong to a higher layer (the YOLO loss, the optimizers) are extension ops instead.
public interface IBackend
{
    Device Device { get; }

    /// Waits until every op queued on this device has finished (a no-op on the CPU).
    void Synchronize();

    // ---- memory -----------------------------------------------------------------------------
    Storage Allocate(long bytes);
    /// destination ← destination.Bytes bytes of host memory at source; returns when source may be
    /// reused. Host addresses rather than spans (as UploadAsync), so that one dispatch hook can
    /// wrap every member (Diagnostics/OpProfiler); Tensor.CopyFrom and CopyTo take spans.
    void CopyFromHost(nint source, Tensor destination);
    /// destination (source.Bytes bytes of host memory) ← source, finished when it returns.
    void CopyToHost(Tensor source, nint destination);
    /// Same element count; converts between dtypes when they differ.
    void Copy(Tensor source, Tensor destination);

    /// Copy for every pair (sources[i] into destinations[i]), as one launch on a GPU where the
    /// pairs share a conversion: mixed precision casts the master weights so once per forward.
    void CopyMany(IReadOnlyList<Tensor> sources, IReadOnlyList<Tensor> destinations);
    void Fill(Tensor destination, double value);

    // ---- asynchronous batch uploads -----------------------------------------------------------
    /// Page-locked host memory (on the CPU: ordinary aligned memory) that uploads can read from
    /// asynchronously.
    nint AllocatePinned(long bytes);
    void FreePinned(nint pointer);
    /// Queues destination ← the bytes at source (pinned) on a copy stream, after every op queued so
    /// far (destination's memory may be a reused block), and returns a fence. The copy overlaps
    /// ops queued after it. Before destination is used call DeviceWait(fence); before source is
    /// reused call HostWait(fence). A fence is waited on by the host once, which releases it.
    long UploadAsync(nint source, Tensor destination);
    /// Queues destination (pinned host memory, source.Bytes bytes) ← source after every op queued
    /// so far, and returns a fence; read destination after HostWait(fence). A training step's
    /// loss is read this way one step late, without waiting for the step queued after it.
    long DownloadAsync(Tensor source, nint destination);
    void DeviceWait(long fence);
    void HostWait(long fence);

    // ---- elementwise ------------------------------------------------------------------------
    void Unary(UnaryOp op, Tensor x, Tensor y, double a = 0, double b = 0);
    /// gx = gy · dy/dx. y is the forward output (some rules read it instead of x).
    void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a = 0, double b = 0);
    /// y = a ∘ b with broadcasting; y has the broadcast shape.
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y);
    /// Partial gradients at the broadcast shape (ga, gb have y's shape; null when not needed).
    void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb);
    /// destination += alpha · source (same shape): gradient accumulation.
    void AddInPlace(Tensor destination, Tensor source, double alpha = 1);

    // ---- reductions and broadcasting ----------------------------------------------------------
    /// y = x summed over the axes where y has size 1 (y's shape broadcasts to x's, same rank or lower).
    void SumTo(Tensor x, Tensor y);
    /// y = x repeated along the axes where x has size 1 (inverse of SumTo).
    void BroadcastTo(Tensor x, Tensor y);

    // ---- layout ------------------------------------------------------------------------------
    void Permute(Tensor x, int[] permutation, Tensor y);
    void Concat(IReadOnlyList<Tensor> xs, int axis, Tensor y);
    /// pieces[i] = x's i-th run of sizes[i] along axis (the sizes add up to x's); a null piece is
    /// skipped: Concat's backward in one call.
    void Split(Tensor x, int axis, int[] sizes, IReadOnlyList<Tensor?> pieces);
    /// y = x[..., start : start + y.Shape[axis], ...] along axis.
    void Slice(Tensor x, int axis, int start, Tensor y);
    /// y[..., start : start + x.Shape[axis], ...] += x along axis (backward of Slice).
    void SliceAdd(Tensor x, int axis, int start, Tensor y);
    /// y[i, ...] = x[index[i], ...] (rows of x viewed as [R, D]); index is int32.
    void IndexSelect(Tensor x, Tensor index, Tensor y);
    /// y[index[i], ...] += x[i, ...], in index order (deterministic).
    void IndexAdd(Tensor x, Tensor index, Tensor y);
    /// y[index[i], ...] = x[i, ...]; with repeated indices the last write wins.
    void IndexCopy(Tensor x, Tensor index, Tensor y);

    // ---- neural-network ops ------------------------------------------------------------------
    /// 2-D convolution, NHWC input [N, H, W, Cin], OHWI weight [Cout, kh, kw, Cin], optional bias [Cout].
    /// batchSums (float64 [2, Cout], or null): also BatchNorm's batch sums of y, Σy and Σy² per
    /// channel over N·H·W, which a GPU adds up in the convolution's epilogue (no pass over y).
    void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y, Tensor? batchSums = null);
    /// A Conv block's convolution (no bias, batch sums as above) over x's parts side by side, each
    /// computed or deferred (ConvInput): a GPU reads them where they lie, computing a deferred part's
    /// silu(x·scale + shift) as it loads it (ReadsDeferredBatchNormSilu); elsewhere they are computed
    /// and concatenated first.
    void Conv2d(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor batchSums);
    /// gw and gbias may have another floating dtype than x: their masters' (float32 under mixed
    /// precision, where w is a float16 copy), summed in float32 or wider and rounded once into them.
    /// addToGx: gx += the input gradient (gx holds what x's other consumers gave), else gx = it.
    void Conv2dBackward(Tensor x, Tensor w, Tensor gy, Conv2dGeometry g, Tensor? gx, Tensor? gw, Tensor? gbias, bool addToGx = false);

    /// Train-mode BatchNorm over N, H, W of an NHWC tensor: normalises with the batch statistics,
    /// writes mean and 1/sqrt(var + eps) for backward, and updates the running statistics with
    /// momentum (running = (1 - m)·running + m·batch; running variance is unbiased).
    void BatchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd);
    void BatchNormEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y);
    void BatchNormBackward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
        Tensor? gx, Tensor? ggamma, Tensor? gbeta);

    /// YOLOv5's BatchNorm (train mode) then SiLU in one op: y = silu(x̂·γ + β). The normalised
    /// values are not kept: backward recomputes them from x and the saved statistics, which saves
    /// a tensor per layer and a pass over it each way.
    /// batchSums (or null): x's batch sums from Conv2d; the statistics come from them (mean =
    /// Σx/M, variance = Σx²/M - mean²) instead of a pass over x.
    /// residual (or null, x's shape and dtype): added after SiLU, y = silu(x̂·γ + β) + residual,
    /// a Bottleneck's shortcut in the same pass (as cuDNN fuses BN-Add-ReLU).
    void BatchNormSiluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd, Tensor? batchSums = null, Tensor? residual = null);
    void BatchNormSiluBackward(Tensor x, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd,
        Tensor? gx, Tensor? ggamma, Tensor? gbeta);
    /// The forward of a Conv block whose BatchNorm + SiLU its reader applies
    /// (Ops.ConvBatchNormSiluDeferred): y = conv(x, w) (x as in Conv2d over parts), then from y's batch sums
    /// BatchNormSiluTrain's statistics without applying them: saveMean, saveInvStd and the running
    /// statistics as there, and map [2, Cout] (scale, then shift: the block's output is
    /// silu(y·scale + shift)) for the convolution that reads it (a ConvInput's map) or BatchNormSiluMap.
    /// A GPU's implicit GEMM finishes the statistics in its epilogue's last blocks.
    void ConvBatchNormSiluDeferred(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, double momentum, double eps, Tensor saveMean, Tensor saveInvStd, Tensor map);
    /// y = silu(x·scale + shift) per channel with map [2, C] from ConvBatchNormSiluDeferred.
    void BatchNormSiluMap(Tensor x, Tensor map, Tensor y);
    /// Whether Conv2d and ConvBatchNormSiluBackward compute a deferred part as they load it
    /// (a GPU's implicit GEMM). Elsewhere they compute it first, a pass each, which costs what
    /// deferring saves: a model defers only where this holds.
    bool ReadsDeferredBatchNormSilu { get; }
    /// YOLOv5's Conv block's backward in training (Ops.ConvBatchNormSilu): y = conv(x, w) was
    /// BatchNorm + SiLU's input and gy is the gradient at the block's output; BatchNormSiluBackward
    /// then Conv2dBackward (no bias; addToGx as there), where a GPU computes BatchNorm's input
    /// gradient inside the convolution's loads instead of storing it. x as in Conv2d over parts;
    /// gx[i] (or null) is part i's gradient, added to what it holds where addToGx[i].
    void ConvBatchNormSiluBackward(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean,
        Tensor saveInvStd, IReadOnlyList<Tensor?> gx, Tensor? gw, Tensor? ggamma, Tensor? gbeta, IReadOnlyList<bool> addToGx);

    /// Max-pool over H, W of NHWC; argmax (int32) holds the winning input offset within the image.
    void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax);
    /// addToGx, here and in UpsampleNearestBackward: gx += the gradient, as in Conv2dBackward.
    void MaxPool2dBackward(Tensor gy, Tensor argmax, Pool2dGeometry g, Tensor gx, bool addToGx = false);

    /// Nearest-neighbour upsampling of NHWC by an integer factor.
    void UpsampleNearest(Tensor x, int scale, Tensor y);
    void UpsampleNearestBackward(Tensor gy, int scale, Tensor gx, bool addToGx = false);

    /// Elementwise binary cross-entropy on logits: -(pw·t·log σ(x) + (1 - t)·log(1 - σ(x))).
    void BceWithLogits(Tensor x, Tensor target, double posWeight, Tensor loss);
    void BceWithLogitsBackward(Tensor x, Tensor target, double posWeight, Tensor gy, Tensor? gx, Tensor? gtarget);

    /// y = op(a)·op(b) (2-D), or y += ... when accumulate.
    void MatMul(Tensor a, Tensor b, bool transA, bool transB, Tensor y, bool accumulate = false);

    // ---- extension ops -------------------------------------------------------------------------
    /// The backend's implementation of an op family declared outside this interface
    /// (IYoloLoss, IOptimizerKernels): the backend registers its extensions when it is made.
    T Extension<T>() where T : class;
}
