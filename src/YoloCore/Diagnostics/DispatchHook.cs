using System.Reflection;

namespace YoloCore.Diagnostics;

/// One hook over every member of an interface: a proxy whose calls all go to one dispatch
/// function with the real target, the method and the arguments. The profiler (OpProfiler) and the
/// CPU's graph recorder are such hooks over IBackend and the extension ops it hands out.
public class DispatchHook : DispatchProxy
{
    object target = null!;
    Func<object, MethodInfo, object?[], object?> dispatch = null!;

    /// target behind a proxy of T that sends every call to dispatch(target, method, args).
    public static T Wrap<T>(T target, Func<object, MethodInfo, object?[], object?> dispatch) where T : class
    {
        var proxy = Create<T, DispatchHook>();
        var hook = (DispatchHook)(object)proxy;
        (hook.target, hook.dispatch) = (target, dispatch);
        return proxy;
    }

    /// An extension op a hooked backend handed out (method is IBackend.Extension&lt;T&gt;), behind
    /// the same dispatch.
    public static object WrapExtension(MethodInfo method, object extension, Func<object, MethodInfo, object?[], object?> dispatch) =>
        typeof(DispatchHook).GetMethod(nameof(Wrap))!.MakeGenericMethod(method.GetGenericArguments()[0]).Invoke(null, [extension, dispatch])!;

    /// Calls method on target, throwing the target's own exception rather than reflection's wrapper.
    public static object? Call(object target, MethodInfo method, object?[] args)
    {
        try { return method.Invoke(target, args); }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args) => dispatch(target, method!, args ?? []);
}
