using System.Collections.Concurrent;

namespace YoloCore;

/// Live and peak bytes of tensor storage per device, counted at allocation and free.
public static class MemoryStats
{
    sealed class Counter
    {
        public long Live;
        public long Peak;
    }

    static readonly ConcurrentDictionary<Device, Counter> counters = new();

    static Counter For(Device device) => counters.GetOrAdd(device, _ => new Counter());

    internal static void OnAllocate(Device device, long bytes)
    {
        var c = For(device);
        long live = Interlocked.Add(ref c.Live, bytes);
        long peak;
        while (live > (peak = Volatile.Read(ref c.Peak)) && Interlocked.CompareExchange(ref c.Peak, live, peak) != peak) { }
    }

    internal static void OnFree(Device device, long bytes) => Interlocked.Add(ref For(device).Live, -bytes);

    /// Bytes currently held by tensors on the device.
    public static long LiveBytes(Device device) => Volatile.Read(ref For(device).Live);

    /// Highest LiveBytes since start or the last ResetPeak.
    public static long PeakBytes(Device device) => Volatile.Read(ref For(device).Peak);

    public static void ResetPeak(Device device)
    {
        var c = For(device);
        Volatile.Write(ref c.Peak, Volatile.Read(ref c.Live));
    }
}
