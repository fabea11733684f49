using YoloCore.Native;

namespace YoloCore.Cuda;

/// A caching device allocator in the spirit of PyTorch's: cudaMalloc is slow and synchronising, so
/// freed blocks go to per-size free lists and are handed out again. Sizes round up to 512 bytes
/// below 1 MiB and to 2 MiB above, which keeps the number of distinct sizes (and fragmentation)
/// small. All ops run on one stream per device, so a block freed by the host can be reused by the
/// next op without waiting: the stream orders the old and new uses. When the driver runs out of
/// memory the cache is released and the allocation retried.
/// While a CUDA graph is captured, blocks come from that graph's private pool (BeginPool): the
/// graph's replays use their addresses, so they go back only to that pool, and to the driver when
/// the graph is disposed (ReleasePool), never to another tensor.
internal sealed class CachingAllocator(CudaDevice device)
{
    const ulong SmallLimit = 1 << 20, SmallRound = 512, LargeRound = 2 << 20;

    readonly Dictionary<ulong, Stack<ulong>> free = [];
    readonly object gate = new();

    /// A captured graph's blocks: every one it obtained, and those free for its own reuse.
    internal sealed class Pool
    {
        public readonly Dictionary<ulong, Stack<ulong>> Free = [];
        public readonly List<(ulong Pointer, ulong Size)> Blocks = [];
    }

    Pool? capturing;
    readonly Dictionary<ulong, Pool> poolOf = [];

    /// Allocations from now on come from a new private pool, until EndPool.
    public void BeginPool()
    {
        lock (gate)
        {
            if (capturing is not null) throw new InvalidOperationException("a graph pool is already open");
            capturing = new Pool();
        }
    }

    public Pool EndPool()
    {
        lock (gate)
        {
            var p = capturing ?? throw new InvalidOperationException("no graph pool is open");
            capturing = null;
            return p;
        }
    }

    /// Returns a disposed graph's free blocks to the driver (after the stream has finished with
    /// them); a block a tensor still holds joins the ordinary cache when that tensor frees it.
    public void ReleasePool(Pool pool)
    {
        lock (gate)
        {
            device.Synchronize();
            var unused = pool.Free.Values.SelectMany(s => s).ToHashSet();
            foreach (var (ptr, size) in pool.Blocks)
            {
                poolOf.Remove(ptr);
                if (!unused.Contains(ptr)) continue;
                CudaDriver.MemFree(ptr);
                Reserved -= size;
                HeldByGraphs -= size;
            }
            pool.Blocks.Clear();
            pool.Free.Clear();
        }
    }

    /// Bytes handed out to tensors now (rounded sizes).
    public ulong Allocated { get; private set; }
    /// Bytes free in live graphs' pools: no tensor holds them, but each replay of their graph
    /// writes its intermediates there, so they are as good as in use.
    public ulong HeldByGraphs { get; private set; }
    /// Bytes obtained from the driver (allocated + cached).
    public ulong Reserved { get; private set; }
    /// The most of Allocated + HeldByGraphs at once since ResetPeaks: what the step needs, eager
    /// or replayed (a replay allocates nothing, its memory was taken at capture).
    public ulong PeakAllocated { get; private set; }
    public ulong PeakReserved { get; private set; }

    public static ulong RoundSize(ulong bytes) =>
        bytes <= SmallLimit ? Math.Max(SmallRound, (bytes + SmallRound - 1) / SmallRound * SmallRound)
                            : (bytes + LargeRound - 1) / LargeRound * LargeRound;

    public ulong Allocate(ulong bytes, out ulong rounded)
    {
        rounded = RoundSize(bytes);
        lock (gate)
        {
            ulong ptr;
            var lists = capturing?.Free ?? free;
            if (lists.TryGetValue(rounded, out var stack) && stack.Count > 0)
            {
                ptr = stack.Pop();
                if (capturing is not null) HeldByGraphs -= rounded;
            }
            else
            {
                device.MakeCurrent();
                try { ptr = CudaDriver.MemAlloc(rounded); }
                catch (CudaException e) when (e.Message.Contains("OUT_OF_MEMORY"))
                {
                    ReleaseCached();
                    try { ptr = CudaDriver.MemAlloc(rounded); }
                    catch (CudaException again) when (again.Message.Contains("OUT_OF_MEMORY"))
                    {
                        throw new OutOfMemoryException($"cuda:{device.Ordinal} ({device.Name}) is out of memory allocating {rounded / 1048576.0:F1} MiB " +
                            $"({Allocated / 1048576.0:F0} MiB in use by tensors, {Reserved / 1048576.0:F0} MiB reserved)", again);
                    }
                }
                Reserved += rounded;
                PeakReserved = Math.Max(PeakReserved, Reserved);
                if (capturing is not null)
                {
                    capturing.Blocks.Add((ptr, rounded));
                    poolOf[ptr] = capturing;
                }
            }
            Allocated += rounded;
            PeakAllocated = Math.Max(PeakAllocated, Allocated + HeldByGraphs);
            return ptr;
        }
    }

    public void Free(ulong ptr, ulong rounded)
    {
        lock (gate)
        {
            bool pooled = poolOf.TryGetValue(ptr, out var pool);
            var lists = pooled ? pool!.Free : free;
            if (!lists.TryGetValue(rounded, out var stack)) lists[rounded] = stack = new Stack<ulong>();
            stack.Push(ptr);
            Allocated -= rounded;
            if (pooled) HeldByGraphs += rounded;
        }
    }

    /// Returns every cached block to the driver (after the stream has finished with them).
    public void ReleaseCached()
    {
        lock (gate)
        {
            device.Synchronize();
            foreach (var (size, stack) in free)
                while (stack.Count > 0)
                {
                    CudaDriver.MemFree(stack.Pop());
                    Reserved -= size;
                }
        }
    }

    public void ResetPeaks()
    {
        lock (gate)
        {
            PeakAllocated = Allocated + HeldByGraphs;
            PeakReserved = Reserved;
        }
    }
}

/// Device memory behind a tensor; freeing returns it to the caching allocator.
internal sealed class CudaStorage : Storage
{
    readonly CachingAllocator allocator;
    readonly ulong rounded;

    public CudaStorage(Device device, long bytes, CachingAllocator allocator) : base(device, bytes)
    {
        this.allocator = allocator;
        Pointer = allocator.Allocate((ulong)Math.Max(1, bytes), out rounded);
    }

    CudaStorage(CudaStorage parent, long byteOffset, long bytes) : base(parent, bytes)
    {
        allocator = parent.allocator;
        Pointer = parent.Pointer + (ulong)byteOffset;
    }

    public ulong Pointer { get; }

    public override Storage Slice(long byteOffset, long bytes)
    {
        CheckRange(this, byteOffset, bytes);
        return new CudaStorage(this, byteOffset, bytes);
    }

    protected override void Free() => allocator.Free(Pointer, rounded);
}
