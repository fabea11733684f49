using YoloCore.Native;

namespace YoloCore.Cuda;

/// Collectives between GPUs over NCCL (our native/ bindings). An all-reduce runs in place on a
/// dedicated stream: it first waits (event) for the work already queued on the compute stream,
/// and the compute stream waits (event) for it before touching the tensor again, so backward keeps
/// running on the GPU while buckets are reduced. A watchdog polls each collective; if it has not
/// finished within the timeout (a peer died or hangs) the communicator is aborted and the
/// collective fails with the reason, instead of hanging forever.
public sealed class NcclCommunicator : ICommunicator
{
    readonly CudaBackend backend;
    readonly ncclComm comm;
    readonly CUstream commStream;
    readonly TimeSpan timeout;
    volatile bool aborted;

    /// uniqueId: rank 0's ncclGetUniqueId bytes, shared through the rendezvous store.
    public NcclCommunicator(int rank, int worldSize, byte[] uniqueId, Device device, TimeSpan timeout)
    {
        backend = (CudaBackend)Backends.For(device);
        backend.MakeCurrent();
        Rank = rank;
        WorldSize = worldSize;
        this.timeout = timeout;
        comm = Nccl.CommInitRank(worldSize, ncclUniqueId.FromBytes(uniqueId), rank);
        commStream = CudaDriver.StreamCreate();
    }

    public int Rank { get; }
    public int WorldSize { get; }

    /// Rank 0 calls this and shares the bytes with the others.
    public static byte[] NewUniqueId() => Nccl.GetUniqueId().ToBytes();

    static ncclDataType_t TypeOf(Tensor t) => t.DType switch
    {
        DType.Float32 => ncclDataType_t.ncclFloat32,
        DType.Float16 => ncclDataType_t.ncclFloat16,
        DType.Int32 => ncclDataType_t.ncclInt32,
        _ => throw new NotSupportedException($"NCCL all-reduce of {t.DType.Name()} tensors"),
    };

    public Task AllReduceSumAsync(Tensor tensor)
    {
        if (aborted) throw new InvalidOperationException("the NCCL communicator was aborted after a failed collective");
        backend.MakeCurrent();
        var before = CudaDriver.EventCreate(CudaDriver.CU_EVENT_DISABLE_TIMING);
        CudaDriver.EventRecord(before, backend.ComputeStream);
        CudaDriver.StreamWaitEvent(commStream, before);
        CudaDriver.EventDestroy(before);
        ulong p = CudaBackend.Ptr(tensor);
        Nccl.AllReduce(p, p, (ulong)tensor.Count, TypeOf(tensor), ncclRedOp_t.ncclSum, comm, commStream);
        var done = CudaDriver.EventCreate(CudaDriver.CU_EVENT_DISABLE_TIMING);
        CudaDriver.EventRecord(done, commStream);
        CudaDriver.StreamWaitEvent(backend.ComputeStream, done);
        return Task.Run(() => Watch(done));
    }

    /// Waits for a collective's event; past the timeout, or on an asynchronous NCCL error, aborts.
    void Watch(CUevent done)
    {
        backend.MakeCurrent();
        var deadline = DateTime.UtcNow + timeout;
        try
        {
            while (true)
            {
                var state = CudaDriver.Api.cuEventQuery(done);
                if (state == CUresult.CUDA_SUCCESS) return;
                if (state != CUresult.CUDA_ERROR_NOT_READY) CudaDriver.Check(state, "cuEventQuery");
                var error = Nccl.CommGetAsyncError(comm);
                if (error != ncclResult_t.ncclSuccess && error != ncclResult_t.ncclInProgress)
                    Fail($"NCCL reported {error} ({Nccl.ErrorString(error)}) during an all-reduce; a peer rank has probably died");
                if (DateTime.UtcNow > deadline)
                    Fail($"an NCCL all-reduce did not finish within {timeout.TotalSeconds:F0} s: a peer rank died or hangs");
                Thread.Sleep(1);
            }
        }
        finally { CudaDriver.EventDestroy(done); }
    }

    void Fail(string message)
    {
        aborted = true;
        try { Nccl.CommAbort(comm); } catch (NativeCallException) { }
        throw new TimeoutException($"rank {Rank}: {message}; the communicator was aborted");
    }

    public void AllReduceSum(Tensor tensor) => AllReduceSumAsync(tensor).GetAwaiter().GetResult();

    public void Broadcast(Tensor tensor, int root = 0)
    {
        backend.MakeCurrent();
        ulong p = CudaBackend.Ptr(tensor);
        Nccl.Broadcast(p, p, (ulong)tensor.Count, TypeOf(tensor), root, comm, backend.ComputeStream);
        backend.Synchronize();
    }

    public void Barrier()
    {
        using var scope = TensorScope.Begin();
        AllReduceSum(Tensor.Zeros(new Shape(1), DType.Float32, backend.Device));
        backend.Synchronize();
    }

    public void Dispose()
    {
        if (!aborted) try { Nccl.CommDestroy(comm); } catch (NativeCallException) { }
    }
}
