// cuBLAS v2 API bindings (cublas_api.h; libcublas.so.13/.12/.11, cublas64_*.dll). cuBLAS is
// column-major: a row-major C = A·B is computed as Cᵀ = Bᵀ·Aᵀ, i.e. by swapping the operands.
// Matrix arguments are device addresses (ulong, as CUdeviceptr); alpha/beta point to host memory
// in the default pointer mode (CUBLAS_POINTER_MODE_HOST).
using System.Runtime.InteropServices;

namespace YoloCore.Native;

/// <summary>cublasHandle_t.</summary>
public readonly record struct cublasHandle(nint Handle) { public bool IsNull => Handle == 0; }

/// <summary>cublasStatus_t.</summary>
public enum cublasStatus_t
{
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
    CUBLAS_STATUS_LICENSE_ERROR = 16,
}

/// <summary>cublasOperation_t.</summary>
public enum cublasOperation_t
{
    CUBLAS_OP_N = 0,
    CUBLAS_OP_T = 1,
    CUBLAS_OP_C = 2,
}

/// <summary>cudaDataType_t (library_types.h): element types of matrices.</summary>
public enum cudaDataType_t
{
    CUDA_R_32F = 0,
    CUDA_R_64F = 1,
    CUDA_R_16F = 2,
    CUDA_R_8I = 3,
    CUDA_C_32F = 4,
    CUDA_R_8U = 8,
    CUDA_R_32I = 10,
    CUDA_R_16BF = 14,
    CUDA_R_8F_E4M3 = 28,
    CUDA_R_8F_E5M2 = 29,
}

/// <summary>cublasComputeType_t (cuBLAS 11+): the accumulation type of GemmEx and cuBLASLt.</summary>
public enum cublasComputeType_t
{
    CUBLAS_COMPUTE_16F = 64,
    CUBLAS_COMPUTE_16F_PEDANTIC = 65,
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_PEDANTIC = 69,
    CUBLAS_COMPUTE_64F = 70,
    CUBLAS_COMPUTE_64F_PEDANTIC = 71,
    CUBLAS_COMPUTE_32I = 72,
    CUBLAS_COMPUTE_32I_PEDANTIC = 73,
    CUBLAS_COMPUTE_32F_FAST_16F = 74,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
}

/// <summary>cublasGemmAlgo_t. Tensor cores are used by default since cuBLAS 11; the *_TENSOR_OP values
/// are deprecated aliases.</summary>
public enum cublasGemmAlgo_t
{
    CUBLAS_GEMM_DEFAULT = -1,
    CUBLAS_GEMM_ALGO0 = 0,
    CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99,
}

/// <summary>cublasMath_t.</summary>
public enum cublasMath_t
{
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_TENSOR_OP_MATH = 1,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
    CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16,
}

/// <summary>cublasPointerMode_t: where alpha/beta live.</summary>
public enum cublasPointerMode_t
{
    CUBLAS_POINTER_MODE_HOST = 0,
    CUBLAS_POINTER_MODE_DEVICE = 1,
}

/// <summary>libraryPropertyType_t, for cublasGetProperty.</summary>
public enum libraryPropertyType_t
{
    MAJOR_VERSION = 0,
    MINOR_VERSION = 1,
    PATCH_LEVEL = 2,
}

/// <summary>cuBLAS: raw declarations in <see cref="Api"/> and checked wrappers that throw <see cref="CublasException"/>.</summary>
public static unsafe partial class Cublas
{
    /// <summary>The exported cuBLAS entry points (the _v2 names cublas_v2.h maps to).</summary>
    public static unsafe partial class Api
    {
        private const string Lib = NativeLibraries.CublasName;

        [LibraryImport(Lib)] public static partial cublasStatus_t cublasCreate_v2(out cublasHandle handle);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasDestroy_v2(cublasHandle handle);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasGetVersion_v2(cublasHandle handle, out int version);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasGetProperty(libraryPropertyType_t type, out int value);
        [LibraryImport(Lib)] public static partial byte* cublasGetStatusString(cublasStatus_t status);
        [LibraryImport(Lib)] public static partial byte* cublasGetStatusName(cublasStatus_t status);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasSetStream_v2(cublasHandle handle, CUstream streamId);
        // cublasSetWorkspace_v2(cublasHandle_t, void* workspace, size_t workspaceSizeInBytes); workspace is device memory
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasSetWorkspace_v2(cublasHandle handle, ulong workspace, nuint workspaceSizeInBytes);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasSetMathMode(cublasHandle handle, cublasMath_t mode);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasSetPointerMode_v2(cublasHandle handle, cublasPointerMode_t mode);

        // cublasSgemm_v2(handle, transa, transb, m, n, k, const float* alpha, const float* A, lda,
        //                const float* B, ldb, const float* beta, float* C, ldc)
        [LibraryImport(Lib)]
        public static partial cublasStatus_t cublasSgemm_v2(cublasHandle handle, cublasOperation_t transa, cublasOperation_t transb,
            int m, int n, int k, float* alpha, ulong A, int lda, ulong B, int ldb, float* beta, ulong C, int ldc);

        // cublasGemmEx(handle, transa, transb, m, n, k, const void* alpha, const void* A, Atype, lda,
        //              const void* B, Btype, ldb, const void* beta, void* C, Ctype, ldc, computeType, algo)
        [LibraryImport(Lib)]
        public static partial cublasStatus_t cublasGemmEx(cublasHandle handle, cublasOperation_t transa, cublasOperation_t transb,
            int m, int n, int k, void* alpha, ulong A, cudaDataType_t Atype, int lda, ulong B, cudaDataType_t Btype, int ldb,
            void* beta, ulong C, cudaDataType_t Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo);

        // cublasGemmStridedBatchedEx(... A, Atype, lda, long long strideA, B, Btype, ldb, long long strideB,
        //                            beta, C, Ctype, ldc, long long strideC, int batchCount, computeType, algo)
        [LibraryImport(Lib)]
        public static partial cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle handle, cublasOperation_t transa, cublasOperation_t transb,
            int m, int n, int k, void* alpha, ulong A, cudaDataType_t Atype, int lda, long strideA,
            ulong B, cudaDataType_t Btype, int ldb, long strideB, void* beta,
            ulong C, cudaDataType_t Ctype, int ldc, long strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo);
    }

    /// <summary>Throws <see cref="CublasException"/> unless <paramref name="status"/> is CUBLAS_STATUS_SUCCESS.</summary>
    public static void Check(cublasStatus_t status, string call)
    {
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
            throw new CublasException(call, status, StatusString(status));
    }

    /// <summary>The status's C name (e.g. CUBLAS_STATUS_NOT_SUPPORTED); needs no library.</summary>
    public static string StatusName(cublasStatus_t status) =>
        Enum.IsDefined(status) ? status.ToString() : $"cublasStatus_t {(int)status}";

    /// <summary>cuBLAS's description of a status (cublasGetStatusString, cuBLAS 11.4+).</summary>
    public static string StatusString(cublasStatus_t status)
    {
        try
        {
            byte* s = Api.cublasGetStatusString(status);
            return s == null ? StatusName(status) : Marshal.PtrToStringUTF8((nint)s)!;
        }
        catch (EntryPointNotFoundException)
        {
            return StatusName(status);
        }
    }

    /// <summary>cuBLAS's version (major.minor.patch) from cublasGetProperty; needs no handle or GPU.</summary>
    public static Version GetVersion()
    {
        Check(Api.cublasGetProperty(libraryPropertyType_t.MAJOR_VERSION, out int major), nameof(Api.cublasGetProperty));
        Check(Api.cublasGetProperty(libraryPropertyType_t.MINOR_VERSION, out int minor), nameof(Api.cublasGetProperty));
        Check(Api.cublasGetProperty(libraryPropertyType_t.PATCH_LEVEL, out int patch), nameof(Api.cublasGetProperty));
        return new Version(major, minor, patch);
    }

    /// <summary>cublasGetVersion_v2: major × 10000 + minor × 100 + patch (e.g. 130100).</summary>
    public static int GetVersion(cublasHandle handle)
    {
        Check(Api.cublasGetVersion_v2(handle, out int v), nameof(Api.cublasGetVersion_v2));
        return v;
    }

    /// <summary>Creates a handle bound to the current CUDA context.</summary>
    public static cublasHandle Create()
    {
        Check(Api.cublasCreate_v2(out var handle), nameof(Api.cublasCreate_v2));
        return handle;
    }

    public static void Destroy(cublasHandle handle) => Check(Api.cublasDestroy_v2(handle), nameof(Api.cublasDestroy_v2));

    public static void SetStream(cublasHandle handle, CUstream stream) =>
        Check(Api.cublasSetStream_v2(handle, stream), nameof(Api.cublasSetStream_v2));

    /// <summary>Gives cuBLAS a device workspace (needed for deterministic, graph-capturable GEMMs).</summary>
    public static void SetWorkspace(cublasHandle handle, ulong workspace, ulong bytes) =>
        Check(Api.cublasSetWorkspace_v2(handle, workspace, (nuint)bytes), nameof(Api.cublasSetWorkspace_v2));

    public static void SetMathMode(cublasHandle handle, cublasMath_t mode) =>
        Check(Api.cublasSetMathMode(handle, mode), nameof(Api.cublasSetMathMode));

    public static void SetPointerMode(cublasHandle handle, cublasPointerMode_t mode) =>
        Check(Api.cublasSetPointerMode_v2(handle, mode), nameof(Api.cublasSetPointerMode_v2));

    /// <summary>C = alpha·op(A)·op(B) + beta·C in float32, column-major (host alpha/beta).</summary>
    public static void Sgemm(cublasHandle handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
        float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc) =>
        Check(Api.cublasSgemm_v2(handle, transa, transb, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc), nameof(Api.cublasSgemm_v2));

    /// <summary>Mixed-type GEMM, column-major. <paramref name="alpha"/>/<paramref name="beta"/> point to
    /// values of the compute type's scale type (float for CUBLAS_COMPUTE_32F*).</summary>
    public static void GemmEx(cublasHandle handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
        void* alpha, ulong a, cudaDataType_t aType, int lda, ulong b, cudaDataType_t bType, int ldb,
        void* beta, ulong c, cudaDataType_t cType, int ldc, cublasComputeType_t computeType,
        cublasGemmAlgo_t algo = cublasGemmAlgo_t.CUBLAS_GEMM_DEFAULT) =>
        Check(Api.cublasGemmEx(handle, transa, transb, m, n, k, alpha, a, aType, lda, b, bType, ldb, beta, c, cType, ldc, computeType, algo),
            nameof(Api.cublasGemmEx));

    /// <summary>Batched <see cref="GemmEx"/> with a fixed element stride between the matrices of each batch.</summary>
    public static void GemmStridedBatchedEx(cublasHandle handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
        void* alpha, ulong a, cudaDataType_t aType, int lda, long strideA, ulong b, cudaDataType_t bType, int ldb, long strideB,
        void* beta, ulong c, cudaDataType_t cType, int ldc, long strideC, int batchCount, cublasComputeType_t computeType,
        cublasGemmAlgo_t algo = cublasGemmAlgo_t.CUBLAS_GEMM_DEFAULT) =>
        Check(Api.cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, a, aType, lda, strideA, b, bType, ldb, strideB,
            beta, c, cType, ldc, strideC, batchCount, computeType, algo), nameof(Api.cublasGemmStridedBatchedEx));
}
