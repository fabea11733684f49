using System.Collections.Concurrent;
using System.Reflection;

namespace YoloCore;

/// Finds the backend that owns a device. The CPU backend lives in YoloCore.Cpu and the CUDA one in
/// YoloCore.Cuda; the core references neither, so they register themselves, or are found by
/// assembly name the first time a device of their kind is used.
public static class Backends
{
    static readonly ConcurrentDictionary<Device, IBackend> registered = new();

    public static void Register(IBackend backend) => registered[backend.Device] = backend;

    public static IBackend For(Device device)
    {
        if (registered.TryGetValue(device, out var b)) return b;
        var (assembly, type) = device.IsCpu ? ("YoloCore.Cpu", "YoloCore.Cpu.CpuBackend") : ("YoloCore.Cuda", "YoloCore.Cuda.CudaBackend");
        Type? t = null;
        try { t = Assembly.Load(assembly).GetType(type); }
        catch (FileNotFoundException) { }
        var create = t?.GetMethod("Create", BindingFlags.Public | BindingFlags.Static, [typeof(Device)]);
        if (create is null)
            throw new InvalidOperationException($"no backend for device {device}: reference {assembly} (type {type})");
        IBackend backend;
        // Unwrap reflection's wrapper so the caller sees the backend's own error (for example a
        // missing libcuda, named with where it was looked for).
        try { backend = (IBackend)create.Invoke(null, [device])!; }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
        return registered.GetOrAdd(device, backend);
    }
}
