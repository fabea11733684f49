using System.Diagnostics;
using System.Reflection;

namespace YoloCore.Diagnostics;

/// Adds up the wall time and call count of every backend op, extension ops included, waiting for
/// the device after each so that GPU time lands on the op that queued it. It is one dispatch
/// hook (a DispatchProxy over IBackend and each extension interface), so a new op is profiled
/// with no code here. `yolocore bench --profile` installs it with Backends.Register.
public sealed class OpProfiler
{
    readonly Dictionary<string, (double Ms, long Calls)> totals = [];

    /// The profiled backend and the one it wraps.
    public IBackend Backend { get; }
    public IBackend Inner { get; }

    public OpProfiler(IBackend inner)
    {
        Inner = inner;
        Backend = Wrap(inner);
    }

    /// (op, total milliseconds, calls), slowest first.
    public IEnumerable<(string Op, double Ms, long Calls)> Report() =>
        totals.OrderByDescending(kv => kv.Value.Ms).Select(kv => (kv.Key, kv.Value.Ms, kv.Value.Calls));

    public void Reset() => totals.Clear();

    T Wrap<T>(T target) where T : class
    {
        var proxy = DispatchProxy.Create<T, Hook>();
        var hook = (Hook)(object)proxy;
        hook.Target = target;
        hook.Owner = this;
        return proxy;
    }

    // Not timed: memory bookkeeping and waits, which would only measure themselves.
    static readonly HashSet<string> untimed =
        [nameof(IBackend.Synchronize), nameof(IBackend.Allocate), nameof(IBackend.AllocatePinned), nameof(IBackend.FreePinned),
         nameof(IBackend.UploadAsync), nameof(IBackend.DownloadAsync), nameof(IBackend.DeviceWait), nameof(IBackend.HostWait), "get_" + nameof(IBackend.Device)];

    object? Dispatch(object target, MethodInfo method, object?[] args)
    {
        if (method.Name == nameof(IBackend.Extension))
        {
            var extension = Invoke(target, method, args)!;
            var wrap = typeof(OpProfiler).GetMethod(nameof(Wrap), BindingFlags.NonPublic | BindingFlags.Instance)!;
            return wrap.MakeGenericMethod(method.GetGenericArguments()[0]).Invoke(this, [extension]);
        }
        if (untimed.Contains(method.Name)) return Invoke(target, method, args);
        long t = Stopwatch.GetTimestamp();
        var result = Invoke(target, method, args);
        Inner.Synchronize();
        string op = OpName(method.Name, args);
        var (ms, calls) = totals.GetValueOrDefault(op);
        totals[op] = (ms + Stopwatch.GetElapsedTime(t).TotalMilliseconds, calls + 1);
        return result;
    }

    static object? Invoke(object target, MethodInfo method, object?[] args)
    {
        try { return method.Invoke(target, args); }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
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
            nameof(IBackend.Conv2d) => $"Conv2d {Conv((Tensor)a[0]!, (Tensor)a[1]!, (Conv2dGeometry)a[3]!)}",
            nameof(IBackend.Copy) when ((Tensor)a[0]!).DType != ((Tensor)a[1]!).DType => "Cast",
            nameof(IBackend.SumTo) when ((Tensor)a[1]!).Count == 1 => "Sum",
            _ => name,
        };
        return backward ? name + " backward" : name;
    }

    static string Conv(Tensor x, Tensor w, Conv2dGeometry g) => $"{w.Shape[1]}x{w.Shape[2]}/{g.StrideH} {x.Shape[3]}-{w.Shape[0]}";

    /// The DispatchProxy every call goes through (it must be public with a parameterless constructor).
    public class Hook : DispatchProxy
    {
        internal object Target = null!;
        internal OpProfiler Owner = null!;

        protected override object? Invoke(MethodInfo? method, object?[]? args) => Owner.Dispatch(Target, method!, args ?? []);
    }
}
