using YoloCore.Native;

namespace YoloCore.Distributed;

/// Collectives between GPUs over NCCL (our native/ bindings), on the GPU backend's IDeviceQueue.
/// An all-reduce runs in place on a dedicated stream: it first waits for the work already queued
/// on the compute stream, and the compute stream waits for it before touching the tensor again,
/// so backward keeps running on the GPU while buckets are reduced. A watchdog polls each collective; if it has not
/// finished within the timeout (a peer died or hangs) the communicator is aborted and the
/// collective fails with the reason, instead of hanging forever.
public sealed class NcclCommunicator : ICommunicator
{
    readonly IDeviceQueue gpu;
    readonly ncclComm comm;
    readonly nint commStream;
    readonly TimeSpan timeout;
    readonly Device device;
    volatile bool aborted;

    /// uniqueId: rank 0's ncclGetUniqueId bytes, shared through the rendezvous store.
    public NcclCommunicator(int rank, int worldSize, byte[] uniqueId, Device device, TimeSpan timeout)
    {
        gpu = Backends.For(device) as IDeviceQueue ?? throw new ArgumentException($"NCCL needs a GPU backend; {device} has none");
        gpu.MakeCurrent();
        this.device = device;
        Rank = rank;
        WorldSize = worldSize;
        this.timeout = timeout;
        comm = Nccl.CommInitRank(worldSize, ncclUniqueId.FromBytes(uniqueId), rank);
        commStream = gpu.CreateStream();
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

    public Task AllReduceSumAsync(Tensor tensor) => AllReduce(tensor, ncclRedOp_t.ncclSum);

    /// NCCL's own average (ncclAvg, NCCL 2.10+): the division happens inside the reduction.
    public Task AllReduceMeanAsync(Tensor tensor) => AllReduce(tensor, ncclRedOp_t.ncclAvg);

    Task AllReduce(Tensor tensor, ncclRedOp_t op)
    {
        if (aborted) throw new InvalidOperationException("the NCCL communicator was aborted after a failed collective");
        gpu.MakeCurrent();
        gpu.Order(gpu.ComputeStream, commStream);
        ulong p = gpu.Address(tensor);
        Nccl.AllReduce(p, p, (ulong)tensor.Count, TypeOf(tensor), op, comm, new CUstream(commStream));
        var done = gpu.Mark(commStream);
        gpu.Order(commStream, gpu.ComputeStream);
        return Task.Run(() => Watch(done));
    }

    /// Waits for a collective's event; past the timeout, or on an asynchronous NCCL error, aborts.
    void Watch(nint done)
    {
        gpu.MakeCurrent();
        var deadline = DateTime.UtcNow + timeout;
        try
        {
            while (!gpu.IsDone(done))
            {
                var error = Nccl.CommGetAsyncError(comm);
                if (error != ncclResult_t.ncclSuccess && error != ncclResult_t.ncclInProgress)
                    Fail($"NCCL reported {error} ({Nccl.ErrorString(error)}) during an all-reduce; a peer rank has probably died");
                if (DateTime.UtcNow > deadline)
                    Fail($"an NCCL all-reduce did not finish within {timeout.TotalSeconds:F0} s: a peer rank died or hangs");
                Thread.Sleep(1);
            }
        }
        finally { gpu.Release(done); }
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
        gpu.MakeCurrent();
        ulong p = gpu.Address(tensor);
        Nccl.Broadcast(p, p, (ulong)tensor.Count, TypeOf(tensor), root, comm, new CUstream(gpu.ComputeStream));
        gpu.Synchronize();
    }

    public void Barrier()
    {
        using var scope = TensorScope.Begin();
        AllReduceSum(Tensor.Zeros(new Shape(1), DType.Float32, device));
        gpu.Synchronize();
    }

    public void Dispose()
    {
        if (!aborted) try { Nccl.CommDestroy(comm); } catch (NativeCallException) { }
    }
}
