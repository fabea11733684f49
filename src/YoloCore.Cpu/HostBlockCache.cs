using System.Runtime.InteropServices;

namespace YoloCore.Cpu;

/// Keeps freed large host blocks for the next tensor of the same size class. A training step
/// allocates the same sizes every step; without a cache each large block went back to the OS
/// (glibc maps blocks above its threshold and unmaps them on free) and every new one paid a page
/// fault per 4 KiB on first touch: about 15,000 faults (60 MB of fresh pages) per yolov5n step at
/// batch 8, 320 px, which cost a tenth of the step's time (docs/perf.md). Blocks of at least
/// MinBytes round up to 64 KiB (pages never touched cost nothing, so rounding wastes no memory);
/// smaller ones come straight from the C allocator, which reuses them without faults. At most
/// as many bytes as the largest number ever in use at once stay cached (and at least 256 MiB), so
/// shapes that change over a run cannot grow the cache without bound; when it is full, blocks of
/// other sizes make room for the one just freed.
internal static unsafe class HostBlockCache
{
    const long MinBytes = 256 << 10, Round = 64 << 10, MinCapacity = 256L << 20;

    static readonly Dictionary<long, Stack<nint>> free = [];
    static readonly Lock gate = new();
    static long cached, inUse, peakInUse;

    /// Bytes kept for reuse now.
    public static long CachedBytes { get { lock (gate) return cached; } }

    public static long SizeClass(long bytes) => bytes < MinBytes ? bytes : (bytes + Round - 1) / Round * Round;

    public static void* Allocate(long bytes)
    {
        long size = SizeClass(bytes);
        if (size >= MinBytes)
            lock (gate)
            {
                inUse += size;
                peakInUse = Math.Max(peakInUse, inUse);
                if (free.TryGetValue(size, out var stack) && stack.Count > 0)
                {
                    cached -= size;
                    return (void*)stack.Pop();
                }
            }
        void* p = NativeMemory.AlignedAlloc((nuint)Math.Max(1, size), 64);
        if (p is null) throw new OutOfMemoryException($"could not allocate {bytes} bytes of host memory");
        return p;
    }

    public static void Free(void* p, long bytes)
    {
        long size = SizeClass(bytes);
        if (size >= MinBytes)
            lock (gate)
            {
                inUse -= size;
                long capacity = Math.Max(MinCapacity, peakInUse);
                // The newest block is the likeliest to be asked for again: make room for it by
                // returning blocks of other sizes, so a full cache of stale shapes cannot refuse it.
                while (cached + size > capacity && EvictOtherThan(size)) { }
                if (cached + size <= capacity)
                {
                    if (!free.TryGetValue(size, out var stack)) free[size] = stack = new Stack<nint>();
                    stack.Push((nint)p);
                    cached += size;
                    return;
                }
            }
        NativeMemory.AlignedFree(p);
    }

    /// Returns one cached block of a size class other than keep to the C allocator (under gate).
    static bool EvictOtherThan(long keep)
    {
        foreach (var (size, stack) in free)
            if (size != keep && stack.Count > 0)
            {
                NativeMemory.AlignedFree((void*)stack.Pop());
                cached -= size;
                return true;
            }
        return false;
    }
}
