// CUDA driver API bindings (cuda.h; libcuda.so.1 / nvcuda.dll). The entry points are the exported
// symbol names, which for many functions carry a _v2 suffix that cuda.h hides behind #defines
// (cuMemAlloc -> cuMemAlloc_v2). Device addresses (CUdeviceptr) are ulong; handles are typed structs.
// CUDA 13 notes: cuda.h maps cuCtxCreate to cuCtxCreate_v4 and cuEventElapsedTime to
// cuEventElapsedTime_v2 (added in 12.8); the driver still exports cuCtxCreate_v2 and the old
// cuEventElapsedTime for older binaries, and EventElapsedTime below picks whichever exists.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace YoloCore.Native;

/// <summary>CUcontext.</summary>
public readonly record struct CUcontext(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>CUmodule.</summary>
public readonly record struct CUmodule(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>CUfunction.</summary>
public readonly record struct CUfunction(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>CUstream (also cudaStream_t for cuBLAS and NCCL). <c>default</c> is the legacy default stream.</summary>
public readonly record struct CUstream(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>CUevent.</summary>
public readonly record struct CUevent(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>CUgraph.</summary>
public readonly record struct CUgraph(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>CUgraphExec.</summary>
public readonly record struct CUgraphExec(nint Handle) { public bool IsNull => Handle == 0; }

/// <summary>CUresult: the named values a caller branches on; any other code is still carried.</summary>
public enum CUresult
{
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_DEINITIALIZED = 4,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_INVALID_PTX = 218,
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_NOT_READY = 600,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    CUDA_ERROR_LAUNCH_TIMEOUT = 702,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_NOT_SUPPORTED = 801,
    CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
    CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
    CUDA_ERROR_UNKNOWN = 999,
}

/// <summary>CUdevice_attribute: the subset an engine queries (values from cuda.h, unchanged 11.x–13.x).</summary>
public enum CUdevice_attribute
{
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1,
    CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X = 2,
    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8,
    CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY = 9,
    CU_DEVICE_ATTRIBUTE_WARP_SIZE = 10,
    CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK = 12,
    CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13,
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    CU_DEVICE_ATTRIBUTE_INTEGRATED = 18,
    CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS = 31,
    CU_DEVICE_ATTRIBUTE_ECC_ENABLED = 32,
    CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33,
    CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID = 34,
    CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36,
    CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37,
    CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38,
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR = 39,
    CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT = 40,
    CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING = 41,
    CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID = 50,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81,
    CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR = 82,
    CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY = 83,
    CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH = 95,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
    CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR = 106,
    CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED = 115,
}

/// <summary>CUfunction_attribute: the ones set or read before launches.</summary>
public enum CUfunction_attribute
{
    CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0,
    CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
    CU_FUNC_ATTRIBUTE_NUM_REGS = 4,
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
}

/// <summary>CUstreamCaptureMode.</summary>
public enum CUstreamCaptureMode
{
    CU_STREAM_CAPTURE_MODE_GLOBAL = 0,
    CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
    CU_STREAM_CAPTURE_MODE_RELAXED = 2,
}

/// <summary>CUjit_option: the options for cuModuleLoadDataEx that matter when loading NVRTC output.</summary>
public enum CUjit_option
{
    CU_JIT_MAX_REGISTERS = 0,
    CU_JIT_WALL_TIME = 2,
    CU_JIT_INFO_LOG_BUFFER = 3,
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
    CU_JIT_ERROR_LOG_BUFFER = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
    CU_JIT_OPTIMIZATION_LEVEL = 7,
    CU_JIT_TARGET = 9,
    CU_JIT_LOG_VERBOSE = 12,
    CU_JIT_GENERATE_LINE_INFO = 13,
}

/// <summary>The CUDA driver API: raw declarations in <see cref="Api"/>, and checked wrappers that
/// throw <see cref="CudaException"/> on any status other than CUDA_SUCCESS.</summary>
public static unsafe partial class CudaDriver
{
    // Flag values from cuda.h.
    public const uint CU_STREAM_DEFAULT = 0;
    public const uint CU_STREAM_NON_BLOCKING = 1;
    public const uint CU_EVENT_DEFAULT = 0;
    public const uint CU_EVENT_BLOCKING_SYNC = 1;
    public const uint CU_EVENT_DISABLE_TIMING = 2;
    public const uint CU_MEMHOSTALLOC_PORTABLE = 1;
    public const uint CU_MEMHOSTALLOC_DEVICEMAP = 2;
    public const uint CU_MEMHOSTALLOC_WRITECOMBINED = 4;
    public const ulong CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH = 1;
    public const ulong CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD = 2;

    /// <summary>The exported driver entry points, named as exported (see the file header about _v2).</summary>
    public static unsafe partial class Api
    {
        private const string Lib = NativeLibraries.CudaName;

        [LibraryImport(Lib)] public static partial CUresult cuInit(uint flags);
        [LibraryImport(Lib)] public static partial CUresult cuDriverGetVersion(out int driverVersion);
        [LibraryImport(Lib)] public static partial CUresult cuGetErrorName(CUresult error, out byte* pStr);
        [LibraryImport(Lib)] public static partial CUresult cuGetErrorString(CUresult error, out byte* pStr);

        // Devices. CUdevice is an int ordinal handle.
        [LibraryImport(Lib)] public static partial CUresult cuDeviceGetCount(out int count);
        [LibraryImport(Lib)] public static partial CUresult cuDeviceGet(out int device, int ordinal);
        [LibraryImport(Lib)] public static partial CUresult cuDeviceGetName(byte* name, int len, int dev);
        [LibraryImport(Lib)] public static partial CUresult cuDeviceGetAttribute(out int pi, CUdevice_attribute attrib, int dev);
        [LibraryImport(Lib)] public static partial CUresult cuDeviceTotalMem_v2(out nuint bytes, int dev);

        // Contexts. cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev)
        [LibraryImport(Lib)] public static partial CUresult cuCtxCreate_v2(out CUcontext pctx, uint flags, int dev);
        [LibraryImport(Lib)] public static partial CUresult cuCtxDestroy_v2(CUcontext ctx);
        [LibraryImport(Lib)] public static partial CUresult cuDevicePrimaryCtxRetain(out CUcontext pctx, int dev);
        [LibraryImport(Lib)] public static partial CUresult cuDevicePrimaryCtxRelease_v2(int dev);
        [LibraryImport(Lib)] public static partial CUresult cuCtxSetCurrent(CUcontext ctx);
        [LibraryImport(Lib)] public static partial CUresult cuCtxGetCurrent(out CUcontext pctx);
        [LibraryImport(Lib)] public static partial CUresult cuCtxGetDevice(out int device);
        [LibraryImport(Lib)] public static partial CUresult cuCtxSynchronize();

        // Memory. cuMemGetInfo_v2(size_t* free, size_t* total)
        [LibraryImport(Lib)] public static partial CUresult cuMemGetInfo_v2(out nuint free, out nuint total);
        [LibraryImport(Lib)] public static partial CUresult cuMemAlloc_v2(out ulong dptr, nuint bytesize);
        [LibraryImport(Lib)] public static partial CUresult cuMemFree_v2(ulong dptr);
        [LibraryImport(Lib)] public static partial CUresult cuMemHostAlloc(out void* pp, nuint bytesize, uint flags);
        [LibraryImport(Lib)] public static partial CUresult cuMemFreeHost(void* p);
        [LibraryImport(Lib)] public static partial CUresult cuMemcpyHtoD_v2(ulong dstDevice, void* srcHost, nuint byteCount);
        [LibraryImport(Lib)] public static partial CUresult cuMemcpyDtoH_v2(void* dstHost, ulong srcDevice, nuint byteCount);
        [LibraryImport(Lib)] public static partial CUresult cuMemcpyDtoD_v2(ulong dstDevice, ulong srcDevice, nuint byteCount);
        [LibraryImport(Lib)] public static partial CUresult cuMemcpyHtoDAsync_v2(ulong dstDevice, void* srcHost, nuint byteCount, CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuMemcpyDtoHAsync_v2(void* dstHost, ulong srcDevice, nuint byteCount, CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuMemcpyDtoDAsync_v2(ulong dstDevice, ulong srcDevice, nuint byteCount, CUstream hStream);
        // The synchronous memsets are _v2; the async ones never were.
        [LibraryImport(Lib)] public static partial CUresult cuMemsetD8_v2(ulong dstDevice, byte uc, nuint n);
        [LibraryImport(Lib)] public static partial CUresult cuMemsetD32_v2(ulong dstDevice, uint ui, nuint n);
        [LibraryImport(Lib)] public static partial CUresult cuMemsetD8Async(ulong dstDevice, byte uc, nuint n, CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuMemsetD16Async(ulong dstDevice, ushort us, nuint n, CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuMemsetD32Async(ulong dstDevice, uint ui, nuint n, CUstream hStream);

        // Modules and launches.
        // cuModuleLoadDataEx(CUmodule*, const void* image, unsigned numOptions, CUjit_option*, void** optionValues)
        [LibraryImport(Lib)] public static partial CUresult cuModuleLoadData(out CUmodule module, void* image);
        [LibraryImport(Lib)] public static partial CUresult cuModuleLoadDataEx(out CUmodule module, void* image, uint numOptions, CUjit_option* options, void** optionValues);
        [LibraryImport(Lib)] public static partial CUresult cuModuleUnload(CUmodule hmod);
        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        public static partial CUresult cuModuleGetFunction(out CUfunction hfunc, CUmodule hmod, string name);
        [LibraryImport(Lib)] public static partial CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value);
        [LibraryImport(Lib)] public static partial CUresult cuFuncGetAttribute(out int pi, CUfunction_attribute attrib, CUfunction hfunc);
        // cuLaunchKernel(f, gridDimX..Z, blockDimX..Z, sharedMemBytes, hStream, void** kernelParams, void** extra)
        [LibraryImport(Lib)]
        public static partial CUresult cuLaunchKernel(CUfunction f, uint gridDimX, uint gridDimY, uint gridDimZ,
            uint blockDimX, uint blockDimY, uint blockDimZ, uint sharedMemBytes, CUstream hStream, void** kernelParams, void** extra);

        // Streams and events.
        [LibraryImport(Lib)] public static partial CUresult cuStreamCreate(out CUstream phStream, uint flags);
        [LibraryImport(Lib)] public static partial CUresult cuStreamDestroy_v2(CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuStreamSynchronize(CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuStreamQuery(CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, uint flags);
        [LibraryImport(Lib)] public static partial CUresult cuEventCreate(out CUevent phEvent, uint flags);
        [LibraryImport(Lib)] public static partial CUresult cuEventDestroy_v2(CUevent hEvent);
        [LibraryImport(Lib)] public static partial CUresult cuEventRecord(CUevent hEvent, CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuEventSynchronize(CUevent hEvent);
        [LibraryImport(Lib)] public static partial CUresult cuEventQuery(CUevent hEvent);

        // Graphs. cuGraphInstantiate is cuGraphInstantiateWithFlags in CUDA 12+ headers (exported since 11.4).
        [LibraryImport(Lib)] public static partial CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode);
        [LibraryImport(Lib)] public static partial CUresult cuStreamEndCapture(CUstream hStream, out CUgraph phGraph);
        [LibraryImport(Lib)] public static partial CUresult cuGraphInstantiateWithFlags(out CUgraphExec phGraphExec, CUgraph hGraph, ulong flags);
        [LibraryImport(Lib)] public static partial CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream);
        [LibraryImport(Lib)] public static partial CUresult cuGraphDestroy(CUgraph hGraph);
        [LibraryImport(Lib)] public static partial CUresult cuGraphExecDestroy(CUgraphExec hGraphExec);

        /// <summary>cuEventElapsedTime(float* ms, CUevent start, CUevent end), bound at run time to
        /// <c>cuEventElapsedTime_v2</c> where the driver exports it (CUDA 12.8+), else to the original.</summary>
        public static CUresult cuEventElapsedTime(float* pMilliseconds, CUevent hStart, CUevent hEnd) =>
            ElapsedTimeFunction()(pMilliseconds, hStart, hEnd);
    }

    private static delegate* unmanaged<float*, CUevent, CUevent, CUresult> elapsedTime;
    private static string? elapsedTimeSymbol;

    /// <summary>The symbol <see cref="Api.cuEventElapsedTime"/> is bound to (after first use or this call):
    /// <c>cuEventElapsedTime_v2</c> or <c>cuEventElapsedTime</c>.</summary>
    public static string EventElapsedTimeEntryPoint
    {
        get
        {
            ElapsedTimeFunction();
            return elapsedTimeSymbol!;
        }
    }

    private static delegate* unmanaged<float*, CUevent, CUevent, CUresult> ElapsedTimeFunction()
    {
        if (elapsedTime != null)
            return elapsedTime;
        foreach (var symbol in (ReadOnlySpan<string>)["cuEventElapsedTime_v2", "cuEventElapsedTime"])
        {
            if (NativeLibraries.TryGetExport(NativeLib.Cuda, symbol, out nint address))
            {
                elapsedTimeSymbol = symbol;
                elapsedTime = (delegate* unmanaged<float*, CUevent, CUevent, CUresult>)address;
                return elapsedTime;
            }
        }
        throw new EntryPointNotFoundException(
            $"{NativeLibraries.LoadedFrom(NativeLib.Cuda)} exports neither cuEventElapsedTime_v2 nor cuEventElapsedTime");
    }

    /// <summary>Throws <see cref="CudaException"/> unless <paramref name="result"/> is CUDA_SUCCESS. The
    /// message carries <paramref name="call"/>, the code, and the driver's own name and description.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Check(CUresult result, string call)
    {
        if (result != CUresult.CUDA_SUCCESS)
            throw Error(result, call);
    }

    /// <summary>The exception <see cref="Check"/> would throw for <paramref name="result"/>.</summary>
    public static CudaException Error(CUresult result, string call) =>
        new(call, result, ErrorName(result), ErrorString(result));

    /// <summary>The driver's name for a status (cuGetErrorName), or "CUresult N" if it has none.</summary>
    public static string ErrorName(CUresult result) =>
        Api.cuGetErrorName(result, out byte* s) == CUresult.CUDA_SUCCESS && s != null
            ? Marshal.PtrToStringUTF8((nint)s)!
            : Enum.IsDefined(result) ? result.ToString() : $"CUresult {(int)result}";

    /// <summary>The driver's description of a status (cuGetErrorString).</summary>
    public static string ErrorString(CUresult result) =>
        Api.cuGetErrorString(result, out byte* s) == CUresult.CUDA_SUCCESS && s != null
            ? Marshal.PtrToStringUTF8((nint)s)!
            : "unrecognized error code";

    // ---- checked wrappers -------------------------------------------------------------------------

    public static void Init(uint flags = 0) => Check(Api.cuInit(flags), nameof(Api.cuInit));

    /// <summary>The CUDA version the driver supports, 1000 × major + 10 × minor (13000 = 13.0).</summary>
    public static int DriverGetVersion()
    {
        Check(Api.cuDriverGetVersion(out int v), nameof(Api.cuDriverGetVersion));
        return v;
    }

    public static int DeviceGetCount()
    {
        Check(Api.cuDeviceGetCount(out int n), nameof(Api.cuDeviceGetCount));
        return n;
    }

    public static int DeviceGet(int ordinal)
    {
        Check(Api.cuDeviceGet(out int d, ordinal), nameof(Api.cuDeviceGet));
        return d;
    }

    public static string DeviceGetName(int device)
    {
        byte* buffer = stackalloc byte[256];
        Check(Api.cuDeviceGetName(buffer, 256, device), nameof(Api.cuDeviceGetName));
        return Marshal.PtrToStringUTF8((nint)buffer)!;
    }

    public static int DeviceGetAttribute(CUdevice_attribute attribute, int device)
    {
        Check(Api.cuDeviceGetAttribute(out int v, attribute, device), nameof(Api.cuDeviceGetAttribute));
        return v;
    }

    /// <summary>Compute capability, e.g. (9, 0) for an H100.</summary>
    public static (int Major, int Minor) DeviceComputeCapability(int device) =>
        (DeviceGetAttribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
         DeviceGetAttribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device));

    public static ulong DeviceTotalMem(int device)
    {
        Check(Api.cuDeviceTotalMem_v2(out nuint bytes, device), nameof(Api.cuDeviceTotalMem_v2));
        return bytes;
    }

    public static CUcontext CtxCreate(uint flags, int device)
    {
        Check(Api.cuCtxCreate_v2(out var ctx, flags, device), nameof(Api.cuCtxCreate_v2));
        return ctx;
    }

    public static void CtxDestroy(CUcontext ctx) => Check(Api.cuCtxDestroy_v2(ctx), nameof(Api.cuCtxDestroy_v2));

    /// <summary>Retains the device's primary context (the one the CUDA runtime and PyTorch share).</summary>
    public static CUcontext DevicePrimaryCtxRetain(int device)
    {
        Check(Api.cuDevicePrimaryCtxRetain(out var ctx, device), nameof(Api.cuDevicePrimaryCtxRetain));
        return ctx;
    }

    public static void DevicePrimaryCtxRelease(int device) =>
        Check(Api.cuDevicePrimaryCtxRelease_v2(device), nameof(Api.cuDevicePrimaryCtxRelease_v2));

    public static void CtxSetCurrent(CUcontext ctx) => Check(Api.cuCtxSetCurrent(ctx), nameof(Api.cuCtxSetCurrent));

    public static CUcontext CtxGetCurrent()
    {
        Check(Api.cuCtxGetCurrent(out var ctx), nameof(Api.cuCtxGetCurrent));
        return ctx;
    }

    public static void CtxSynchronize() => Check(Api.cuCtxSynchronize(), nameof(Api.cuCtxSynchronize));

    /// <summary>Free and total device memory of the current context's device, in bytes.</summary>
    public static (ulong Free, ulong Total) MemGetInfo()
    {
        Check(Api.cuMemGetInfo_v2(out nuint free, out nuint total), nameof(Api.cuMemGetInfo_v2));
        return (free, total);
    }

    /// <summary>Allocates device memory; returns its device address.</summary>
    public static ulong MemAlloc(ulong bytes)
    {
        Check(Api.cuMemAlloc_v2(out ulong p, (nuint)bytes), nameof(Api.cuMemAlloc_v2));
        return p;
    }

    public static void MemFree(ulong devicePtr) => Check(Api.cuMemFree_v2(devicePtr), nameof(Api.cuMemFree_v2));

    /// <summary>Allocates page-locked host memory (CU_MEMHOSTALLOC_* flags).</summary>
    public static void* MemHostAlloc(ulong bytes, uint flags = 0)
    {
        Check(Api.cuMemHostAlloc(out void* p, (nuint)bytes, flags), nameof(Api.cuMemHostAlloc));
        return p;
    }

    public static void MemFreeHost(void* p) => Check(Api.cuMemFreeHost(p), nameof(Api.cuMemFreeHost));

    public static void MemcpyHtoD(ulong dst, void* src, ulong bytes) =>
        Check(Api.cuMemcpyHtoD_v2(dst, src, (nuint)bytes), nameof(Api.cuMemcpyHtoD_v2));

    public static void MemcpyDtoH(void* dst, ulong src, ulong bytes) =>
        Check(Api.cuMemcpyDtoH_v2(dst, src, (nuint)bytes), nameof(Api.cuMemcpyDtoH_v2));

    public static void MemcpyDtoD(ulong dst, ulong src, ulong bytes) =>
        Check(Api.cuMemcpyDtoD_v2(dst, src, (nuint)bytes), nameof(Api.cuMemcpyDtoD_v2));

    public static void MemcpyHtoDAsync(ulong dst, void* src, ulong bytes, CUstream stream) =>
        Check(Api.cuMemcpyHtoDAsync_v2(dst, src, (nuint)bytes, stream), nameof(Api.cuMemcpyHtoDAsync_v2));

    public static void MemcpyDtoHAsync(void* dst, ulong src, ulong bytes, CUstream stream) =>
        Check(Api.cuMemcpyDtoHAsync_v2(dst, src, (nuint)bytes, stream), nameof(Api.cuMemcpyDtoHAsync_v2));

    public static void MemcpyDtoDAsync(ulong dst, ulong src, ulong bytes, CUstream stream) =>
        Check(Api.cuMemcpyDtoDAsync_v2(dst, src, (nuint)bytes, stream), nameof(Api.cuMemcpyDtoDAsync_v2));

    /// <summary>Copies a span to device memory (synchronous).</summary>
    public static void MemcpyHtoD<T>(ulong dst, ReadOnlySpan<T> src) where T : unmanaged
    {
        fixed (T* p = src)
            MemcpyHtoD(dst, p, (ulong)src.Length * (ulong)sizeof(T));
    }

    /// <summary>Copies device memory into a span (synchronous).</summary>
    public static void MemcpyDtoH<T>(Span<T> dst, ulong src) where T : unmanaged
    {
        fixed (T* p = dst)
            MemcpyDtoH(p, src, (ulong)dst.Length * (ulong)sizeof(T));
    }

    /// <summary>Sets <paramref name="count"/> bytes.</summary>
    public static void MemsetD8(ulong dst, byte value, ulong count) =>
        Check(Api.cuMemsetD8_v2(dst, value, (nuint)count), nameof(Api.cuMemsetD8_v2));

    /// <summary>Sets <paramref name="count"/> 32-bit words.</summary>
    public static void MemsetD32(ulong dst, uint value, ulong count) =>
        Check(Api.cuMemsetD32_v2(dst, value, (nuint)count), nameof(Api.cuMemsetD32_v2));

    public static void MemsetD8Async(ulong dst, byte value, ulong count, CUstream stream) =>
        Check(Api.cuMemsetD8Async(dst, value, (nuint)count, stream), nameof(Api.cuMemsetD8Async));

    public static void MemsetD16Async(ulong dst, ushort value, ulong count, CUstream stream) =>
        Check(Api.cuMemsetD16Async(dst, value, (nuint)count, stream), nameof(Api.cuMemsetD16Async));

    public static void MemsetD32Async(ulong dst, uint value, ulong count, CUstream stream) =>
        Check(Api.cuMemsetD32Async(dst, value, (nuint)count, stream), nameof(Api.cuMemsetD32Async));

    /// <summary>Loads a module from a CUBIN or a NUL-terminated PTX image (as <see cref="Nvrtc.Compile"/> returns).</summary>
    public static CUmodule ModuleLoadData(ReadOnlySpan<byte> image)
    {
        fixed (byte* p = image)
        {
            Check(Api.cuModuleLoadData(out var module, p), nameof(Api.cuModuleLoadData));
            return module;
        }
    }

    /// <summary>Loads a module and returns the JIT's error log in the exception when it fails (useful for PTX).</summary>
    public static CUmodule ModuleLoadDataWithLog(ReadOnlySpan<byte> image)
    {
        const int logSize = 16 * 1024;
        byte* errorLog = stackalloc byte[logSize];
        errorLog[0] = 0;
        CUjit_option* options = stackalloc CUjit_option[2];
        void** values = stackalloc void*[2];
        options[0] = CUjit_option.CU_JIT_ERROR_LOG_BUFFER;
        values[0] = errorLog;
        options[1] = CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES;
        values[1] = (void*)(nint)logSize;
        fixed (byte* p = image)
        {
            var result = Api.cuModuleLoadDataEx(out var module, p, 2, options, values);
            if (result != CUresult.CUDA_SUCCESS)
            {
                string log = Marshal.PtrToStringUTF8((nint)errorLog) ?? "";
                throw new CudaException(nameof(Api.cuModuleLoadDataEx), result, ErrorName(result),
                    ErrorString(result) + (log.Length > 0 ? "\nJIT log:\n" + log : ""));
            }
            return module;
        }
    }

    public static void ModuleUnload(CUmodule module) => Check(Api.cuModuleUnload(module), nameof(Api.cuModuleUnload));

    public static CUfunction ModuleGetFunction(CUmodule module, string name)
    {
        var result = Api.cuModuleGetFunction(out var f, module, name);
        if (result != CUresult.CUDA_SUCCESS)
            throw new CudaException(nameof(Api.cuModuleGetFunction), result, ErrorName(result),
                $"{ErrorString(result)} (kernel '{name}'; is it declared extern \"C\" or looked up by its lowered name?)");
        return f;
    }

    public static void FuncSetAttribute(CUfunction f, CUfunction_attribute attribute, int value) =>
        Check(Api.cuFuncSetAttribute(f, attribute, value), nameof(Api.cuFuncSetAttribute));

    /// <summary>Launches a kernel. <paramref name="kernelParams"/> points to an array holding one pointer
    /// per kernel argument, each pointing at that argument's value.</summary>
    public static void LaunchKernel(CUfunction f, (uint X, uint Y, uint Z) grid, (uint X, uint Y, uint Z) block,
        uint sharedMemBytes, CUstream stream, void** kernelParams) =>
        Check(Api.cuLaunchKernel(f, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedMemBytes, stream, kernelParams, null),
            nameof(Api.cuLaunchKernel));

    public static CUstream StreamCreate(uint flags = CU_STREAM_NON_BLOCKING)
    {
        Check(Api.cuStreamCreate(out var s, flags), nameof(Api.cuStreamCreate));
        return s;
    }

    public static void StreamDestroy(CUstream stream) => Check(Api.cuStreamDestroy_v2(stream), nameof(Api.cuStreamDestroy_v2));

    public static void StreamSynchronize(CUstream stream) => Check(Api.cuStreamSynchronize(stream), nameof(Api.cuStreamSynchronize));

    /// <summary>True when all work on the stream has finished; false while some is pending.</summary>
    public static bool StreamQuery(CUstream stream) => Ready(Api.cuStreamQuery(stream), nameof(Api.cuStreamQuery));

    public static void StreamWaitEvent(CUstream stream, CUevent ev, uint flags = 0) =>
        Check(Api.cuStreamWaitEvent(stream, ev, flags), nameof(Api.cuStreamWaitEvent));

    public static CUevent EventCreate(uint flags = CU_EVENT_DEFAULT)
    {
        Check(Api.cuEventCreate(out var e, flags), nameof(Api.cuEventCreate));
        return e;
    }

    public static void EventDestroy(CUevent ev) => Check(Api.cuEventDestroy_v2(ev), nameof(Api.cuEventDestroy_v2));

    public static void EventRecord(CUevent ev, CUstream stream) => Check(Api.cuEventRecord(ev, stream), nameof(Api.cuEventRecord));

    public static void EventSynchronize(CUevent ev) => Check(Api.cuEventSynchronize(ev), nameof(Api.cuEventSynchronize));

    /// <summary>True when the event has completed; false while pending.</summary>
    public static bool EventQuery(CUevent ev) => Ready(Api.cuEventQuery(ev), nameof(Api.cuEventQuery));

    /// <summary>Milliseconds between two recorded events.</summary>
    public static float EventElapsedTime(CUevent start, CUevent end)
    {
        float ms;
        Check(Api.cuEventElapsedTime(&ms, start, end), EventElapsedTimeEntryPoint);
        return ms;
    }

    public static void StreamBeginCapture(CUstream stream, CUstreamCaptureMode mode = CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) =>
        Check(Api.cuStreamBeginCapture_v2(stream, mode), nameof(Api.cuStreamBeginCapture_v2));

    public static CUgraph StreamEndCapture(CUstream stream)
    {
        Check(Api.cuStreamEndCapture(stream, out var graph), nameof(Api.cuStreamEndCapture));
        return graph;
    }

    public static CUgraphExec GraphInstantiate(CUgraph graph, ulong flags = 0)
    {
        Check(Api.cuGraphInstantiateWithFlags(out var exec, graph, flags), nameof(Api.cuGraphInstantiateWithFlags));
        return exec;
    }

    public static void GraphLaunch(CUgraphExec exec, CUstream stream) => Check(Api.cuGraphLaunch(exec, stream), nameof(Api.cuGraphLaunch));

    public static void GraphDestroy(CUgraph graph) => Check(Api.cuGraphDestroy(graph), nameof(Api.cuGraphDestroy));

    public static void GraphExecDestroy(CUgraphExec exec) => Check(Api.cuGraphExecDestroy(exec), nameof(Api.cuGraphExecDestroy));

    private static bool Ready(CUresult result, string call)
    {
        if (result == CUresult.CUDA_ERROR_NOT_READY)
            return false;
        Check(result, call);
        return true;
    }
}
