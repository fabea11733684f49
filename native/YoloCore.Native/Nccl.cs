// NCCL bindings (nccl.h; libnccl.so.2, Linux only). Buffers are device addresses (ulong); streams are
// CUstream. ncclUniqueId is 128 opaque bytes that rank 0 creates and every rank receives (the
// rendezvous store carries them), passed to ncclCommInitRank by value.
using System.Runtime.InteropServices;

namespace YoloCore.Native;

/// <summary>ncclComm_t.</summary>
public readonly record struct ncclComm(nint Handle) { public bool IsNull => Handle == 0; }

/// <summary>ncclResult_t.</summary>
public enum ncclResult_t
{
    ncclSuccess = 0,
    ncclUnhandledCudaError = 1,
    ncclSystemError = 2,
    ncclInternalError = 3,
    ncclInvalidArgument = 4,
    ncclInvalidUsage = 5,
    ncclRemoteError = 6,
    /// <summary>A non-blocking communicator's operation is still running (not an error).</summary>
    ncclInProgress = 7,
    /// <summary>NCCL 2.30+.</summary>
    ncclTimeout = 8,
}

/// <summary>ncclDataType_t.</summary>
public enum ncclDataType_t
{
    ncclInt8 = 0,
    ncclUint8 = 1,
    ncclInt32 = 2,
    ncclUint32 = 3,
    ncclInt64 = 4,
    ncclUint64 = 5,
    ncclFloat16 = 6,
    ncclFloat32 = 7,
    ncclFloat64 = 8,
    /// <summary>NCCL 2.10+.</summary>
    ncclBfloat16 = 9,
}

/// <summary>ncclRedOp_t (the built-in operations).</summary>
public enum ncclRedOp_t
{
    ncclSum = 0,
    ncclProd = 1,
    ncclMax = 2,
    ncclMin = 3,
    /// <summary>NCCL 2.10+.</summary>
    ncclAvg = 4,
}

/// <summary>ncclUniqueId: <c>char internal[128]</c>.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public unsafe struct ncclUniqueId
{
    /// <summary>NCCL_UNIQUE_ID_BYTES.</summary>
    public const int Size = 128;

    public fixed byte Internal[Size];

    /// <summary>The id's bytes, to send to the other ranks.</summary>
    public readonly byte[] ToBytes()
    {
        var bytes = new byte[Size];
        fixed (byte* p = Internal)
            new ReadOnlySpan<byte>(p, Size).CopyTo(bytes);
        return bytes;
    }

    /// <summary>An id received from rank 0.</summary>
    public static ncclUniqueId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
            throw new ArgumentException($"an ncclUniqueId is {Size} bytes, got {bytes.Length}", nameof(bytes));
        var id = new ncclUniqueId();
        bytes.CopyTo(new Span<byte>(id.Internal, Size));
        return id;
    }
}

/// <summary>NCCL: raw declarations in <see cref="Api"/> and checked wrappers that throw <see cref="NcclException"/>.</summary>
public static unsafe partial class Nccl
{
    /// <summary>The exported NCCL entry points.</summary>
    public static unsafe partial class Api
    {
        private const string Lib = NativeLibraries.NcclName;

        [LibraryImport(Lib)] public static partial ncclResult_t ncclGetVersion(out int version);
        [LibraryImport(Lib)] public static partial ncclResult_t ncclGetUniqueId(out ncclUniqueId uniqueId);
        // ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId /* by value */, int rank)
        [LibraryImport(Lib)] public static partial ncclResult_t ncclCommInitRank(out ncclComm comm, int nranks, ncclUniqueId commId, int rank);
        [LibraryImport(Lib)] public static partial ncclResult_t ncclCommDestroy(ncclComm comm);
        [LibraryImport(Lib)] public static partial ncclResult_t ncclCommAbort(ncclComm comm);
        [LibraryImport(Lib)] public static partial ncclResult_t ncclCommGetAsyncError(ncclComm comm, out ncclResult_t asyncError);
        [LibraryImport(Lib)] public static partial ncclResult_t ncclCommCount(ncclComm comm, out int count);
        [LibraryImport(Lib)] public static partial ncclResult_t ncclCommUserRank(ncclComm comm, out int rank);
        [LibraryImport(Lib)] public static partial ncclResult_t ncclCommCuDevice(ncclComm comm, out int device);
        [LibraryImport(Lib)] public static partial byte* ncclGetErrorString(ncclResult_t result);

        // ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t)
        [LibraryImport(Lib)] public static partial ncclResult_t ncclAllReduce(ulong sendbuff, ulong recvbuff, nuint count, ncclDataType_t datatype, ncclRedOp_t op, ncclComm comm, CUstream stream);
        // ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t, int root, ncclComm_t, cudaStream_t)
        [LibraryImport(Lib)] public static partial ncclResult_t ncclBroadcast(ulong sendbuff, ulong recvbuff, nuint count, ncclDataType_t datatype, int root, ncclComm comm, CUstream stream);
        // ncclReduceScatter(sendbuff, recvbuff, size_t recvcount, datatype, op, comm, stream)
        [LibraryImport(Lib)] public static partial ncclResult_t ncclReduceScatter(ulong sendbuff, ulong recvbuff, nuint recvcount, ncclDataType_t datatype, ncclRedOp_t op, ncclComm comm, CUstream stream);
        // ncclAllGather(sendbuff, recvbuff, size_t sendcount, datatype, comm, stream)
        [LibraryImport(Lib)] public static partial ncclResult_t ncclAllGather(ulong sendbuff, ulong recvbuff, nuint sendcount, ncclDataType_t datatype, ncclComm comm, CUstream stream);
        [LibraryImport(Lib)] public static partial ncclResult_t ncclGroupStart();
        [LibraryImport(Lib)] public static partial ncclResult_t ncclGroupEnd();
    }

    private static delegate* unmanaged<ncclComm, byte*> getLastError;
    private static bool getLastErrorLooked;

    /// <summary>Throws <see cref="NcclException"/> unless <paramref name="result"/> is ncclSuccess (or
    /// ncclInProgress when <paramref name="allowInProgress"/>, for non-blocking communicators).</summary>
    public static void Check(ncclResult_t result, string call, ncclComm comm = default, bool allowInProgress = false)
    {
        if (result == ncclResult_t.ncclSuccess || allowInProgress && result == ncclResult_t.ncclInProgress)
            return;
        throw new NcclException(call, result, ErrorString(result), LastError(comm));
    }

    /// <summary>NCCL's description of a status (ncclGetErrorString).</summary>
    public static string ErrorString(ncclResult_t result)
    {
        byte* s = Api.ncclGetErrorString(result);
        return s == null ? result.ToString() : Marshal.PtrToStringUTF8((nint)s)!;
    }

    /// <summary>NCCL's detailed message about the last error (ncclGetLastError, NCCL 2.13+; null if absent).</summary>
    public static string? LastError(ncclComm comm = default)
    {
        if (!getLastErrorLooked)
        {
            if (NativeLibraries.TryGetExport(NativeLib.Nccl, "ncclGetLastError", out nint address))
                getLastError = (delegate* unmanaged<ncclComm, byte*>)address;
            getLastErrorLooked = true;
        }
        if (getLastError == null)
            return null;
        byte* s = getLastError(comm);
        return s == null ? null : Marshal.PtrToStringUTF8((nint)s);
    }

    /// <summary>The raw version code NCCL reports (22803 for 2.28.3).</summary>
    public static int GetVersionCode()
    {
        Check(Api.ncclGetVersion(out int v), nameof(Api.ncclGetVersion));
        return v;
    }

    /// <summary>NCCL's version, decoded as nccl.h's NCCL_VERSION macro encodes it (× 10000 for the major since 2.9, × 1000 before).</summary>
    public static Version GetVersion() => DecodeVersion(GetVersionCode());

    /// <summary>Decodes an NCCL version code: 22803 → 2.28.3, 2708 → 2.7.8.</summary>
    public static Version DecodeVersion(int code) =>
        code >= 10000
            ? new Version(code / 10000, code / 100 % 100, code % 100)
            : new Version(code / 1000, code / 100 % 10, code % 100);

    /// <summary>Creates a new unique id (on rank 0).</summary>
    public static ncclUniqueId GetUniqueId()
    {
        Check(Api.ncclGetUniqueId(out var id), nameof(Api.ncclGetUniqueId));
        return id;
    }

    /// <summary>Joins the communicator of <paramref name="nranks"/> ranks named by <paramref name="id"/>;
    /// blocks until every rank has joined. The current CUDA context's device is this rank's GPU.</summary>
    public static ncclComm CommInitRank(int nranks, ncclUniqueId id, int rank)
    {
        Check(Api.ncclCommInitRank(out var comm, nranks, id, rank), nameof(Api.ncclCommInitRank));
        return comm;
    }

    public static void CommDestroy(ncclComm comm) => Check(Api.ncclCommDestroy(comm), nameof(Api.ncclCommDestroy));

    /// <summary>Aborts pending operations and frees the communicator (use on errors instead of Destroy).</summary>
    public static void CommAbort(ncclComm comm) => Check(Api.ncclCommAbort(comm), nameof(Api.ncclCommAbort));

    /// <summary>The communicator's asynchronous error state (ncclSuccess while healthy); poll it while
    /// waiting on a stream so a peer failure ends the wait.</summary>
    public static ncclResult_t CommGetAsyncError(ncclComm comm)
    {
        Check(Api.ncclCommGetAsyncError(comm, out var error), nameof(Api.ncclCommGetAsyncError), comm);
        return error;
    }

    public static int CommCount(ncclComm comm)
    {
        Check(Api.ncclCommCount(comm, out int n), nameof(Api.ncclCommCount), comm);
        return n;
    }

    public static int CommUserRank(ncclComm comm)
    {
        Check(Api.ncclCommUserRank(comm, out int rank), nameof(Api.ncclCommUserRank), comm);
        return rank;
    }

    public static int CommCuDevice(ncclComm comm)
    {
        Check(Api.ncclCommCuDevice(comm, out int device), nameof(Api.ncclCommCuDevice), comm);
        return device;
    }

    public static void AllReduce(ulong sendbuff, ulong recvbuff, ulong count, ncclDataType_t type, ncclRedOp_t op, ncclComm comm, CUstream stream) =>
        Check(Api.ncclAllReduce(sendbuff, recvbuff, (nuint)count, type, op, comm, stream), nameof(Api.ncclAllReduce), comm);

    public static void Broadcast(ulong sendbuff, ulong recvbuff, ulong count, ncclDataType_t type, int root, ncclComm comm, CUstream stream) =>
        Check(Api.ncclBroadcast(sendbuff, recvbuff, (nuint)count, type, root, comm, stream), nameof(Api.ncclBroadcast), comm);

    /// <summary><paramref name="recvCount"/> is the per-rank result count; the send buffer holds nranks × recvCount.</summary>
    public static void ReduceScatter(ulong sendbuff, ulong recvbuff, ulong recvCount, ncclDataType_t type, ncclRedOp_t op, ncclComm comm, CUstream stream) =>
        Check(Api.ncclReduceScatter(sendbuff, recvbuff, (nuint)recvCount, type, op, comm, stream), nameof(Api.ncclReduceScatter), comm);

    /// <summary><paramref name="sendCount"/> is the per-rank input count; the receive buffer holds nranks × sendCount.</summary>
    public static void AllGather(ulong sendbuff, ulong recvbuff, ulong sendCount, ncclDataType_t type, ncclComm comm, CUstream stream) =>
        Check(Api.ncclAllGather(sendbuff, recvbuff, (nuint)sendCount, type, comm, stream), nameof(Api.ncclAllGather), comm);

    public static void GroupStart() => Check(Api.ncclGroupStart(), nameof(Api.ncclGroupStart));

    public static void GroupEnd() => Check(Api.ncclGroupEnd(), nameof(Api.ncclGroupEnd));
}
