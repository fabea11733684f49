using System.Diagnostics;

namespace YoloCore.Diagnostics;

/// Wraps a backend and adds up the wall time and call count of every op (waiting for the device
/// after each, so GPU time lands on the op that queued it). `yolocore bench --profile` installs it
/// with Backends.Register; it is how the perf notes find where a training step's time goes.
public sealed class ProfilingBackend(IBackend inner) : IBackend
{
    readonly Dictionary<string, (double Ms, long Calls)> totals = [];

    public IBackend Inner { get; } = inner;
    public Device Device => Inner.Device;

    /// (op, total milliseconds, calls), slowest first.
    public IEnumerable<(string Op, double Ms, long Calls)> Report() =>
        totals.OrderByDescending(kv => kv.Value.Ms).Select(kv => (kv.Key, kv.Value.Ms, kv.Value.Calls));

    public void Reset() => totals.Clear();

    void Time(string op, Action body)
    {
        long t = Stopwatch.GetTimestamp();
        body();
        Inner.Synchronize();
        var (ms, calls) = totals.GetValueOrDefault(op);
        totals[op] = (ms + Stopwatch.GetElapsedTime(t).TotalMilliseconds, calls + 1);
    }

    static string Conv(Tensor x, Tensor w, Conv2dGeometry g) => $"{w.Shape[1]}x{w.Shape[2]}/{g.StrideH} {x.Shape[3]}-{w.Shape[0]}";

    public void Synchronize() => Inner.Synchronize();
    public nint AllocatePinned(long bytes) => Inner.AllocatePinned(bytes);
    public void FreePinned(nint pointer) => Inner.FreePinned(pointer);
    public long UploadAsync(nint source, Tensor destination) => Inner.UploadAsync(source, destination);
    public void DeviceWait(long fence) => Inner.DeviceWait(fence);
    public void HostWait(long fence) => Inner.HostWait(fence);
    public Storage Allocate(long bytes) => Inner.Allocate(bytes);
    public void CopyFromHost(ReadOnlySpan<byte> source, Tensor destination)
    {
        long t = Stopwatch.GetTimestamp();
        Inner.CopyFromHost(source, destination);
        var (ms, calls) = totals.GetValueOrDefault("CopyFromHost");
        totals["CopyFromHost"] = (ms + Stopwatch.GetElapsedTime(t).TotalMilliseconds, calls + 1);
    }
    public void CopyToHost(Tensor source, Span<byte> destination)
    {
        long t = Stopwatch.GetTimestamp();
        Inner.CopyToHost(source, destination);
        var (ms, calls) = totals.GetValueOrDefault("CopyToHost");
        totals["CopyToHost"] = (ms + Stopwatch.GetElapsedTime(t).TotalMilliseconds, calls + 1);
    }
    public void Copy(Tensor source, Tensor destination) => Time(source.DType == destination.DType ? "Copy" : "Cast", () => Inner.Copy(source, destination));
    public void Fill(Tensor destination, double value) => Time("Fill", () => Inner.Fill(destination, value));
    public void Unary(UnaryOp op, Tensor x, Tensor y, double a = 0, double b = 0) => Time($"{op}", () => Inner.Unary(op, x, y, a, b));
    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a = 0, double b = 0) =>
        Time($"{op} backward", () => Inner.UnaryBackward(op, x, y, gy, gx, a, b));
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) => Time($"{op}{(a.Shape == b.Shape ? "" : " broadcast")}", () => Inner.Binary(op, a, b, y));
    public void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb) =>
        Time($"{op} backward", () => Inner.BinaryBackward(op, a, b, gy, ga, gb));
    public void AddInPlace(Tensor destination, Tensor source, double alpha = 1) => Time("AddInPlace", () => Inner.AddInPlace(destination, source, alpha));
    public void SumTo(Tensor x, Tensor y) => Time(y.Count == 1 ? "Sum" : "SumTo", () => Inner.SumTo(x, y));
    public void BroadcastTo(Tensor x, Tensor y) => Time("BroadcastTo", () => Inner.BroadcastTo(x, y));
    public void Permute(Tensor x, int[] permutation, Tensor y) => Time("Permute", () => Inner.Permute(x, permutation, y));
    public void Concat(IReadOnlyList<Tensor> xs, int axis, Tensor y) => Time("Concat", () => Inner.Concat(xs, axis, y));
    public void Slice(Tensor x, int axis, int start, Tensor y) => Time("Slice", () => Inner.Slice(x, axis, start, y));
    public void SliceAdd(Tensor x, int axis, int start, Tensor y) => Time("SliceAdd", () => Inner.SliceAdd(x, axis, start, y));
    public void IndexSelect(Tensor x, Tensor index, Tensor y) => Time("IndexSelect", () => Inner.IndexSelect(x, index, y));
    public void IndexAdd(Tensor x, Tensor index, Tensor y) => Time("IndexAdd", () => Inner.IndexAdd(x, index, y));
    public void IndexCopy(Tensor x, Tensor index, Tensor y) => Time("IndexCopy", () => Inner.IndexCopy(x, index, y));
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y) => Time($"Conv2d {Conv(x, w, g)}", () => Inner.Conv2d(x, w, bias, g, y));
    public void Conv2dBackward(Tensor x, Tensor w, Tensor gy, Conv2dGeometry g, Tensor? gx, Tensor? gw, Tensor? gbias) =>
        Time($"Conv2d {Conv(x, w, g)} backward", () => Inner.Conv2dBackward(x, w, gy, g, gx, gw, gbias));
    public void BatchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) =>
        Time("BatchNorm", () => Inner.BatchNormTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd));
    public void BatchNormEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y) =>
        Time("BatchNorm eval", () => Inner.BatchNormEval(x, gamma, beta, runningMean, runningVar, eps, y));
    public void BatchNormBackward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta) =>
        Time("BatchNorm backward", () => Inner.BatchNormBackward(x, gy, gamma, saveMean, saveInvStd, gx, ggamma, gbeta));
    public void BatchNormSiluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) =>
        Time("BatchNorm+SiLU", () => Inner.BatchNormSiluTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd));
    public void BatchNormSiluBackward(Tensor x, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta) =>
        Time("BatchNorm+SiLU backward", () => Inner.BatchNormSiluBackward(x, gy, gamma, beta, saveMean, saveInvStd, gx, ggamma, gbeta));
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor argmax) => Time("MaxPool2d", () => Inner.MaxPool2d(x, g, y, argmax));
    public void MaxPool2dBackward(Tensor gy, Tensor argmax, Pool2dGeometry g, Tensor gx) => Time("MaxPool2d backward", () => Inner.MaxPool2dBackward(gy, argmax, g, gx));
    public void UpsampleNearest(Tensor x, int scale, Tensor y) => Time("Upsample", () => Inner.UpsampleNearest(x, scale, y));
    public void UpsampleNearestBackward(Tensor gy, int scale, Tensor gx) => Time("Upsample backward", () => Inner.UpsampleNearestBackward(gy, scale, gx));
    public void BceWithLogits(Tensor x, Tensor target, double posWeight, Tensor loss) => Time("BceWithLogits", () => Inner.BceWithLogits(x, target, posWeight, loss));
    public void BceWithLogitsBackward(Tensor x, Tensor target, double posWeight, Tensor gy, Tensor? gx, Tensor? gtarget) =>
        Time("BceWithLogits backward", () => Inner.BceWithLogitsBackward(x, target, posWeight, gy, gx, gtarget));
    public void MatMul(Tensor a, Tensor b, bool transA, bool transB, Tensor y, bool accumulate = false) => Time("MatMul", () => Inner.MatMul(a, b, transA, transB, y, accumulate));
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay, bool nesterov) =>
        Time("SgdStep", () => Inner.SgdStep(param, grad, momentumBuffer, lr, momentum, weightDecay, nesterov));
    public void UnscaleAndCheck(IReadOnlyList<Tensor> grads, double invScale, Tensor foundNonFinite) => Time("UnscaleAndCheck", () => Inner.UnscaleAndCheck(grads, invScale, foundNonFinite));
    public void SumOfSquares(IReadOnlyList<Tensor> tensors, Tensor result) => Time("SumOfSquares", () => Inner.SumOfSquares(tensors, result));
    public void MultiTensorAxpby(IReadOnlyList<Tensor> targets, IReadOnlyList<Tensor> sources, double a, double b) => Time("MultiTensorAxpby", () => Inner.MultiTensorAxpby(targets, sources, a, b));
    public void MultiTensorSgd(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor?> momentumBuffers, double gradScale, double lr, double momentum, double weightDecay, bool nesterov) =>
        Time("MultiTensorSgd", () => Inner.MultiTensorSgd(parameters, grads, momentumBuffers, gradScale, lr, momentum, weightDecay, nesterov));
    public void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step) =>
        Time("AdamStep", () => Inner.AdamStep(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step));
    public void YoloLossLevel(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, YoloLossTerms terms, Tensor iou, Tensor tobj, Tensor sums) =>
        Time("YoloLossLevel", () => Inner.YoloLossLevel(head, rows, tbox, anchors, classes, terms, iou, tobj, sums));
    public void YoloLossLevelBackward(Tensor head, Tensor rows, Tensor tbox, Tensor anchors, Tensor classes, YoloLossTerms terms, Tensor tobj, Tensor gsums, Tensor ghead) =>
        Time("YoloLossLevel backward", () => Inner.YoloLossLevelBackward(head, rows, tbox, anchors, classes, terms, tobj, gsums, ghead));
}
