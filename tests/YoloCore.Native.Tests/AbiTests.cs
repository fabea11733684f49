// ABI facts the bindings depend on, checked against the values in NVIDIA's headers (cuda.h,
// library_types.h, cublas_api.h, cublasLt.h, nccl.h, nvrtc.h as of CUDA 13.0 / NCCL 2.28): a wrong
// struct size or enum value here would corrupt memory or select the wrong operation on the GPU.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using YoloCore.Native;

namespace YoloCore.Native.Tests;

public class AbiTests
{
    [Fact]
    public void NcclUniqueIdIs128BytesAndRoundTrips()
    {
        Assert.Equal(128, Unsafe.SizeOf<ncclUniqueId>());
        Assert.Equal(128, Marshal.SizeOf<ncclUniqueId>());
        var bytes = Enumerable.Range(0, 128).Select(i => (byte)(i * 7 + 3)).ToArray();
        var id = ncclUniqueId.FromBytes(bytes);
        Assert.Equal(bytes, id.ToBytes());
        Assert.Throws<ArgumentException>(() => ncclUniqueId.FromBytes(new byte[127]));
    }

    [Fact]
    public void CublasLtHeuristicResultHasTheHeadersLayout()
    {
        // { cublasLtMatmulAlgo_t algo (uint64_t data[8]); size_t workspaceSize; cublasStatus_t state;
        //   float wavesCount; int reserved[4]; }
        Assert.Equal(64, Unsafe.SizeOf<cublasLtMatmulAlgo_t>());
        Assert.Equal(96, Unsafe.SizeOf<cublasLtMatmulHeuristicResult_t>());
        Assert.Equal(96, Marshal.SizeOf<cublasLtMatmulHeuristicResult_t>());
        Assert.Equal(64, (int)Marshal.OffsetOf<cublasLtMatmulHeuristicResult_t>(nameof(cublasLtMatmulHeuristicResult_t.WorkspaceSize)));
        Assert.Equal(72, (int)Marshal.OffsetOf<cublasLtMatmulHeuristicResult_t>(nameof(cublasLtMatmulHeuristicResult_t.State)));
        Assert.Equal(76, (int)Marshal.OffsetOf<cublasLtMatmulHeuristicResult_t>(nameof(cublasLtMatmulHeuristicResult_t.WavesCount)));
        Assert.Equal(80, (int)Marshal.OffsetOf<cublasLtMatmulHeuristicResult_t>(nameof(cublasLtMatmulHeuristicResult_t.Reserved)));
    }

    [Fact]
    public void HandlesArePointerSized()
    {
        Assert.Equal(IntPtr.Size, Unsafe.SizeOf<CUcontext>());
        Assert.Equal(IntPtr.Size, Unsafe.SizeOf<CUstream>());
        Assert.Equal(IntPtr.Size, Unsafe.SizeOf<CUevent>());
        Assert.Equal(IntPtr.Size, Unsafe.SizeOf<CUgraphExec>());
        Assert.Equal(IntPtr.Size, Unsafe.SizeOf<cublasHandle>());
        Assert.Equal(IntPtr.Size, Unsafe.SizeOf<cublasLtMatmulDesc>());
        Assert.Equal(IntPtr.Size, Unsafe.SizeOf<ncclComm>());
        Assert.Equal(IntPtr.Size, Unsafe.SizeOf<nvrtcProgram>());
        Assert.Equal(4, sizeof(CUresult));
        Assert.Equal(4, sizeof(cublasLtEpilogue_t));
    }

    [Fact]
    public void CudaDriverEnumValues()
    {
        Assert.Equal(75, (int)CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        Assert.Equal(76, (int)CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        Assert.Equal(16, (int)CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        Assert.Equal(97, (int)CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        Assert.Equal(8, (int)CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
        Assert.Equal(600, (int)CUresult.CUDA_ERROR_NOT_READY);
        Assert.Equal(100, (int)CUresult.CUDA_ERROR_NO_DEVICE);
        Assert.Equal(1, (int)CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
        Assert.Equal(5, (int)CUjit_option.CU_JIT_ERROR_LOG_BUFFER);
        Assert.Equal(1u, CudaDriver.CU_STREAM_NON_BLOCKING);
        Assert.Equal(2u, CudaDriver.CU_EVENT_DISABLE_TIMING);
    }

    [Fact]
    public void CublasEnumValues()
    {
        Assert.Equal(0, (int)cudaDataType_t.CUDA_R_32F);
        Assert.Equal(2, (int)cudaDataType_t.CUDA_R_16F);
        Assert.Equal(14, (int)cudaDataType_t.CUDA_R_16BF);
        Assert.Equal(68, (int)cublasComputeType_t.CUBLAS_COMPUTE_32F);
        Assert.Equal(74, (int)cublasComputeType_t.CUBLAS_COMPUTE_32F_FAST_16F);
        Assert.Equal(77, (int)cublasComputeType_t.CUBLAS_COMPUTE_32F_FAST_TF32);
        Assert.Equal(-1, (int)cublasGemmAlgo_t.CUBLAS_GEMM_DEFAULT);
        Assert.Equal(1, (int)cublasOperation_t.CUBLAS_OP_T);
        Assert.Equal(15, (int)cublasStatus_t.CUBLAS_STATUS_NOT_SUPPORTED);
        Assert.Equal(16, (int)cublasMath_t.CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
    }

    [Fact]
    public void CublasLtEnumValues()
    {
        Assert.Equal(3, (int)cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_TRANSA);
        Assert.Equal(4, (int)cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_TRANSB);
        Assert.Equal(7, (int)cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_EPILOGUE);
        Assert.Equal(8, (int)cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_BIAS_POINTER);
        Assert.Equal(26, (int)cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE);
        Assert.Equal(1, (int)cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES);
        Assert.Equal(1u, (uint)cublasLtEpilogue_t.CUBLASLT_EPILOGUE_DEFAULT);
        Assert.Equal(4u, (uint)cublasLtEpilogue_t.CUBLASLT_EPILOGUE_BIAS);
        Assert.Equal(6u, (uint)cublasLtEpilogue_t.CUBLASLT_EPILOGUE_RELU_BIAS);
        Assert.Equal(36u, (uint)cublasLtEpilogue_t.CUBLASLT_EPILOGUE_GELU_BIAS);
        Assert.Equal(512u, (uint)cublasLtEpilogue_t.CUBLASLT_EPILOGUE_BGRADB);
        Assert.Equal(1, (int)cublasLtOrder_t.CUBLASLT_ORDER_ROW);
        Assert.Equal(1, (int)cublasLtMatrixLayoutAttribute_t.CUBLASLT_MATRIX_LAYOUT_ORDER);
    }

    [Fact]
    public void NcclEnumValues()
    {
        Assert.Equal(6, (int)ncclDataType_t.ncclFloat16);
        Assert.Equal(7, (int)ncclDataType_t.ncclFloat32);
        Assert.Equal(9, (int)ncclDataType_t.ncclBfloat16);
        Assert.Equal(0, (int)ncclRedOp_t.ncclSum);
        Assert.Equal(4, (int)ncclRedOp_t.ncclAvg);
        Assert.Equal(7, (int)ncclResult_t.ncclInProgress);
        Assert.Equal(6, (int)ncclResult_t.ncclRemoteError);
    }

    [Fact]
    public void NvrtcEnumValues()
    {
        Assert.Equal(6, (int)nvrtcResult.NVRTC_ERROR_COMPILATION);
        Assert.Equal(5, (int)nvrtcResult.NVRTC_ERROR_INVALID_OPTION);
        Assert.Equal(10, (int)nvrtcResult.NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID);
    }

    [Fact]
    public void DriverDeclarationsUseTheExportedVersionedNames()
    {
        // cuda.h #defines these names to versioned symbols; binding the bare name would call an old ABI.
        var driver = NativeLibraries.DeclaredEntryPoints(NativeLib.Cuda);
        string[] versioned =
        [
            "cuMemAlloc_v2", "cuMemFree_v2", "cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2", "cuMemcpyDtoD_v2",
            "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2", "cuMemcpyDtoDAsync_v2", "cuMemsetD8_v2", "cuMemsetD32_v2",
            "cuMemGetInfo_v2", "cuCtxCreate_v2", "cuCtxDestroy_v2", "cuDevicePrimaryCtxRelease_v2", "cuDeviceTotalMem_v2",
            "cuStreamDestroy_v2", "cuEventDestroy_v2", "cuStreamBeginCapture_v2", "cuGraphInstantiateWithFlags",
        ];
        foreach (var symbol in versioned)
            Assert.Contains(symbol, driver);
        foreach (var bare in new[] { "cuMemAlloc", "cuMemFree", "cuMemGetInfo", "cuCtxCreate", "cuStreamDestroy", "cuEventDestroy", "cuGraphInstantiate" })
            Assert.DoesNotContain(bare, driver);
        // The async memsets never had a _v2; cuEventElapsedTime is bound at run time (_v2 first).
        Assert.Contains("cuMemsetD8Async", driver);
        Assert.Contains("cuMemsetD16Async", driver);
        Assert.Contains("cuMemsetD32Async", driver);
        Assert.Contains("cuStreamEndCapture", driver);
        Assert.DoesNotContain("cuEventElapsedTime", driver);

        var cublas = NativeLibraries.DeclaredEntryPoints(NativeLib.Cublas);
        foreach (var symbol in new[] { "cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2", "cublasSetWorkspace_v2", "cublasGetVersion_v2", "cublasSgemm_v2", "cublasGemmEx" })
            Assert.Contains(symbol, cublas);
        Assert.Contains("ncclCommInitRank", NativeLibraries.DeclaredEntryPoints(NativeLib.Nccl));
        Assert.Contains("cublasLtMatmulAlgoGetHeuristic", NativeLibraries.DeclaredEntryPoints(NativeLib.CublasLt));
    }

    [Fact]
    public void VersionCodesDecode()
    {
        Assert.Equal(new Version(2, 28, 3), Nccl.DecodeVersion(22803));
        Assert.Equal(new Version(2, 7, 8), Nccl.DecodeVersion(2708));
        Assert.Equal("13.0", NativeLibraries.FormatCudaVersion(13000));
        Assert.Equal("12.8", NativeLibraries.FormatCudaVersion(12080));
        Assert.Equal("11.2", NativeLibraries.FormatCudaVersion(11020));
    }

    [Fact]
    public void StatusExceptionsNameTheCallTheCodeAndTheStatus()
    {
        var cublas = new CublasException("cublasGemmEx", cublasStatus_t.CUBLAS_STATUS_NOT_SUPPORTED, "the functionality requested is not supported");
        Assert.Equal("cublasGemmEx failed: CUBLAS_STATUS_NOT_SUPPORTED (15): the functionality requested is not supported", cublas.Message);
        Assert.Equal("CUBLAS_STATUS_NOT_SUPPORTED", cublas.CodeName);
        Assert.Equal(15, cublas.Code);

        var cuda = new CudaException("cuMemAlloc_v2", CUresult.CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
        Assert.Equal("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", cuda.Message);
        Assert.Equal("cuMemAlloc_v2", cuda.Call);

        var nccl = new NcclException("ncclAllReduce", ncclResult_t.ncclRemoteError, "remote process exited or there was a network error", "NET/IB : peer closed");
        Assert.Contains("ncclAllReduce failed: ncclRemoteError (6)", nccl.Message);
        Assert.Contains("NET/IB : peer closed", nccl.Message);
        Assert.IsAssignableFrom<NativeCallException>(nccl);

        Assert.Equal("cublasStatus_t 99", Cublas.StatusName((cublasStatus_t)99));
    }
}
