using System.Collections.Concurrent;

namespace YoloCore;

/// Which backend owns a device. The core references no backend: the program that composes the
/// engine says which exist, once at startup (the yolocore command, each test assembly, the
/// benchmarks): Backends.Use(CpuBackend.Create, CudaBackend.Create). Each device's backend is then
/// made the first time a tensor of that device is.
public static class Backends
{
    static readonly ConcurrentDictionary<Device, IBackend> instances = new();
    static readonly Lock gate = new();
    static Func<Device, IBackend>? cpu, gpu;

    /// Installs the backend factories: cpu for the CPU, gpu (optional) for cuda:N.
    public static void Use(Func<Device, IBackend> cpuBackend, Func<Device, IBackend>? gpuBackend = null)
    {
        cpu = cpuBackend;
        gpu = gpuBackend;
    }

    /// Replaces the backend of one device (bench --profile puts its timing backend in front).
    public static void Register(IBackend backend) => instances[backend.Device] = backend;

    public static IBackend For(Device device)
    {
        if (instances.TryGetValue(device, out var b)) return b;
        var create = (device.IsCpu ? cpu : gpu) ?? throw new InvalidOperationException(
            $"no backend is registered for {device}: the program must call Backends.Use at startup " +
            "(YoloCore.Cpu.CpuBackend.Create, and YoloCore.Cuda.CudaBackend.Create for GPUs)");
        // Not GetOrAdd's factory: a failing backend (a missing libcuda, named with where it was
        // looked for) must throw its own error each time and cache nothing.
        lock (gate)
        {
            if (instances.TryGetValue(device, out b)) return b;
            b = create(device);
            instances[device] = b;
            return b;
        }
    }
}
