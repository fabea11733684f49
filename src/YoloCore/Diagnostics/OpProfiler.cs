using System.Diagnostics;
using System.Reflection;

namespace YoloCore.Diagnostics;

/// Adds up the wall time and call count of every backend op, extension ops included, waiting for
/// the device after each so that GPU time lands on the op that queued it. It is one dispatch
/// hook (a DispatchProxy over IBackend and each extension interface), so a new op is profiled
/// with no code here. `yolocore bench --profile` installs it with Backends.Register.
public sealed class OpProfiler
{
    readonly Dictionary<string, OpTotal> totals = [];
    readonly Func<long>? launches;

    /// The profiled backend and the one it wraps.
    public IBackend Backend { get; }
    public IBackend Inner { get; }

    /// launches: the backend's count of device work queued so far (CudaBackend.Launches), so each
    /// op's row also says how many launches it made.
    public OpProfiler(IBackend inner, Func<long>? launches = null)
    {
        Inner = inner;
        this.launches = launches;
        Backend = Wrap(inner);
    }

    /// One op's totals: wall milliseconds, calls, and device launches (0 without a counter).
    public readonly record struct OpTotal(string Op, double Ms, long Calls, long Launches);

    /// Every op's totals, slowest first.
    public IEnumerable<OpTotal> Report() => totals.Values.OrderByDescending(t => t.Ms);

    public void Reset() => totals.Clear();

    T Wrap<T>(T target) where T : class => DispatchHook.Wrap(target, Dispatch);

    // Not timed: memory bookkeeping and waits, which would only measure themselves.
    static readonly HashSet<string> untimed =
        [nameof(IBackend.Synchronize), nameof(IBackend.Allocate), nameof(IBackend.AllocatePinned), nameof(IBackend.FreePinned),
         nameof(IBackend.UploadAsync), nameof(IBackend.DownloadAsync), nameof(IBackend.DeviceWait), nameof(IBackend.HostWait), "get_" + nameof(IBackend.Device),
         "get_" + nameof(IBackend.ReadsDeferredBatchNormSilu)];

    object? Dispatch(object target, MethodInfo method, object?[] args)
    {
        if (method.Name == nameof(IBackend.Extension)) return DispatchHook.WrapExtension(method, DispatchHook.Call(target, method, args)!, Dispatch);
        if (untimed.Contains(method.Name)) return DispatchHook.Call(target, method, args);
        long t = Stopwatch.GetTimestamp(), l = launches?.Invoke() ?? 0;
        var result = DispatchHook.Call(target, method, args);
        Inner.Synchronize();
        string op = OpName(method.Name, args);
        var sum = totals.GetValueOrDefault(op, new OpTotal(op, 0, 0, 0));
        totals[op] = sum with
        {
            Ms = sum.Ms + Stopwatch.GetElapsedTime(t).TotalMilliseconds, Calls = sum.Calls + 1,
            Launches = sum.Launches + (launches?.Invoke() ?? 0) - l,
        };
        return result;
    }

    /// The row an op's time goes to: its name, with what tells calls of different cost apart
    /// (the elementwise op, a convolution's kernel, stride and channels, a cast).
    static string OpName(string method, object?[] a)
    {
        bool backward = method.EndsWith("Backward", StringComparison.Ordinal);
        string name = backward ? method[..^"Backward".Length] : method;
        name = name switch
        {
            nameof(IBackend.Unary) => $"{a[0]}",
            nameof(IBackend.Binary) when !backward => $"{a[0]}{(((Tensor)a[1]!).Shape == ((Tensor)a[2]!).Shape ? "" : " broadcast")}",
            nameof(IBackend.Binary) => $"{a[0]}",
            nameof(IBackend.Conv2d) when a[0] is ConvInput x => $"Conv2d {Conv(x, (Tensor)a[1]!, (Conv2dGeometry)a[2]!)}",
            nameof(IBackend.Conv2d) => $"Conv2d {Conv(ConvInput.Of((Tensor)a[0]!), (Tensor)a[1]!, (Conv2dGeometry)a[3]!)}",
            "ConvBatchNormSilu" => $"Conv2d+BatchNormSilu {Conv((ConvInput)a[0]!, (Tensor)a[1]!, (Conv2dGeometry)a[2]!)}",
            nameof(IBackend.ConvBatchNormSiluDeferred) => $"Conv2d+BatchNormSilu deferred {Conv((ConvInput)a[0]!, (Tensor)a[1]!, (Conv2dGeometry)a[2]!)}",
            nameof(IBackend.Copy) when ((Tensor)a[0]!).DType != ((Tensor)a[1]!).DType => "Cast",
            nameof(IBackend.SumTo) when ((Tensor)a[1]!).Count == 1 => "Sum",
            _ => name,
        };
        return backward ? name + " backward" : name;
    }

    /// Kernel, stride and channels, and how the input is read: " deferred input" where a part is
    /// deferred, " N parts" where it is a concatenation read in place.
    static string Conv(ConvInput x, Tensor w, Conv2dGeometry g) => $"{w.Shape[1]}x{w.Shape[2]}/{g.StrideH} {x.Shape[3]}-{w.Shape[0]}"
        + (x.Maps.Any(m => m is not null) ? " deferred input" : "") + (x.Parts.Count > 1 ? $" {x.Parts.Count} parts" : "");
}
