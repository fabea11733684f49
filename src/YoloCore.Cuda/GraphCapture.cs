using YoloCore.Native;

namespace YoloCore.Cuda;

/// CUDA graphs for the CUDA backend (IGraphCapture): stream capture of the compute stream in
/// relaxed mode (the allocator may still ask the driver for memory), allocations going to the
/// graph's private pool, host copies turned into constants (the bytes kept in page-locked memory
/// the graph owns, copied by a memcpy node), and every host wait refused with its name. Replay is
/// one cuGraphLaunch.
internal sealed unsafe class CudaGraphCapture(CudaBackend backend, CudaDevice gpu, CachingAllocator allocator) : IGraphCapture
{
    List<nint>? constants;
    long launchesAtBegin;

    public bool IsCapturing => constants is not null;

    public void BeginCapture()
    {
        if (IsCapturing) throw new InvalidOperationException($"a capture is already under way on cuda:{gpu.Ordinal}");
        gpu.MakeCurrent();
        // As torch.cuda.graph: start from an idle stream.
        gpu.Synchronize();
        allocator.BeginPool();
        constants = [];
        launchesAtBegin = backend.Launches;
        CudaDriver.StreamBeginCapture(gpu.Stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED);
    }

    public ICapturedGraph EndCapture()
    {
        var held = constants ?? throw new InvalidOperationException("EndCapture without BeginCapture");
        gpu.MakeCurrent();
        var graph = CudaDriver.StreamEndCapture(gpu.Stream);
        constants = null;
        var pool = allocator.EndPool();
        try
        {
            var exec = CudaDriver.GraphInstantiate(graph);
            // The eager steps before the capture left about as much in the ordinary cache as the
            // graph now holds in its pool; replays take nothing from it, so it goes back to the
            // driver (an eager step later, validation or a shape change, takes from it again).
            allocator.ReleaseCached();
            return new Graph(backend, gpu, allocator, graph, exec, pool, held, (int)(backend.Launches - launchesAtBegin));
        }
        catch
        {
            CudaDriver.GraphDestroy(graph);
            Release(allocator, pool, held);
            throw;
        }
    }

    public void AbortCapture()
    {
        var held = constants;
        if (held is null) return;
        gpu.MakeCurrent();
        constants = null;
        try { CudaDriver.GraphDestroy(CudaDriver.StreamEndCapture(gpu.Stream)); }
        catch (CudaException) { } // a capture the driver already invalidated has no graph to destroy
        Release(allocator, allocator.EndPool(), held);
    }

    /// While capturing: the bytes at source become a constant of the graph, queued as a copy from
    /// page-locked memory it owns (a copy from pageable memory cannot be captured).
    public void CopyConstant(nint source, Tensor destination)
    {
        long bytes = destination.Bytes;
        var pinned = (nint)CudaDriver.MemHostAlloc((ulong)Math.Max(1, bytes), CudaDriver.CU_MEMHOSTALLOC_PORTABLE);
        constants!.Add(pinned);
        Buffer.MemoryCopy((void*)source, (void*)pinned, bytes, bytes);
        CudaDriver.MemcpyHtoDAsync(CudaBackend.Ptr(destination), (void*)pinned, (ulong)bytes, gpu.Stream);
    }

    /// Refuses what a capture cannot hold, naming it.
    public void Refuse(string what)
    {
        if (IsCapturing)
            throw new InvalidOperationException($"{what} while a step is being captured on cuda:{gpu.Ordinal}: a captured step must not wait for the device, " +
                "read back or upload asynchronously (stage per-step values before the capture, read results after the replay)");
    }

    static void Release(CachingAllocator allocator, CachingAllocator.Pool pool, List<nint> constants)
    {
        allocator.ReleasePool(pool);
        foreach (var p in constants) CudaDriver.MemFreeHost((void*)p);
        constants.Clear();
    }

    sealed class Graph(CudaBackend backend, CudaDevice gpu, CachingAllocator allocator, CUgraph graph, CUgraphExec exec,
        CachingAllocator.Pool pool, List<nint> constants, int ops) : ICapturedGraph
    {
        bool disposed;

        public int Ops { get; } = ops;

        public void Replay()
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            gpu.MakeCurrent();
            CudaDriver.GraphLaunch(exec, gpu.Stream);
            backend.CountLaunch("graph replay");
        }

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            gpu.MakeCurrent();
            gpu.Synchronize();
            CudaDriver.GraphExecDestroy(exec);
            CudaDriver.GraphDestroy(graph);
            Release(allocator, pool, constants);
        }
    }
}
