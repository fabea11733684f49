// cuBLASLt bindings (cublasLt.h; libcublasLt.so.13/.12/.11, cublasLt64_*.dll): matmul descriptors,
// matrix layouts, heuristics and cublasLtMatmul with epilogues (bias, ReLU, GELU fused into the GEMM).
// Attribute values are passed by pointer and size, so SetAttribute<T> takes any unmanaged value of
// the type the header documents for that attribute (int32 for TRANSA, uint32 for EPILOGUE, a device
// pointer for BIAS_POINTER, uint64 for MAX_WORKSPACE_BYTES).
using System.Runtime.InteropServices;

namespace YoloCore.Native;

/// <summary>cublasLtHandle_t.</summary>
public readonly record struct cublasLtHandle(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>cublasLtMatmulDesc_t.</summary>
public readonly record struct cublasLtMatmulDesc(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>cublasLtMatrixLayout_t.</summary>
public readonly record struct cublasLtMatrixLayout(nint Handle) { public bool IsNull => Handle == 0; }
/// <summary>cublasLtMatmulPreference_t.</summary>
public readonly record struct cublasLtMatmulPreference(nint Handle) { public bool IsNull => Handle == 0; }

/// <summary>cublasLtMatmulDescAttributes_t (values unchanged from CUDA 11.x to 13.x for these).</summary>
public enum cublasLtMatmulDescAttributes_t
{
    CUBLASLT_MATMUL_DESC_COMPUTE_TYPE = 0,
    CUBLASLT_MATMUL_DESC_SCALE_TYPE = 1,
    CUBLASLT_MATMUL_DESC_POINTER_MODE = 2,
    CUBLASLT_MATMUL_DESC_TRANSA = 3,
    CUBLASLT_MATMUL_DESC_TRANSB = 4,
    CUBLASLT_MATMUL_DESC_TRANSC = 5,
    CUBLASLT_MATMUL_DESC_FILL_MODE = 6,
    CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
    CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE = 10,
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER = 11,
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD = 12,
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE = 13,
    CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26,
}

/// <summary>cublasLtEpilogue_t: what is fused after the GEMM.</summary>
public enum cublasLtEpilogue_t : uint
{
    CUBLASLT_EPILOGUE_DEFAULT = 1,
    CUBLASLT_EPILOGUE_RELU = 2,
    CUBLASLT_EPILOGUE_BIAS = 4,
    CUBLASLT_EPILOGUE_RELU_BIAS = 6,
    CUBLASLT_EPILOGUE_GELU = 32,
    CUBLASLT_EPILOGUE_GELU_BIAS = 36,
    CUBLASLT_EPILOGUE_RELU_AUX = 130,
    CUBLASLT_EPILOGUE_RELU_AUX_BIAS = 134,
    CUBLASLT_EPILOGUE_DRELU = 136,
    CUBLASLT_EPILOGUE_DRELU_BGRAD = 152,
    CUBLASLT_EPILOGUE_GELU_AUX = 160,
    CUBLASLT_EPILOGUE_GELU_AUX_BIAS = 164,
    CUBLASLT_EPILOGUE_DGELU = 192,
    CUBLASLT_EPILOGUE_DGELU_BGRAD = 208,
    CUBLASLT_EPILOGUE_BGRADA = 256,
    CUBLASLT_EPILOGUE_BGRADB = 512,
}

/// <summary>cublasLtMatrixLayoutAttribute_t.</summary>
public enum cublasLtMatrixLayoutAttribute_t
{
    CUBLASLT_MATRIX_LAYOUT_TYPE = 0,
    CUBLASLT_MATRIX_LAYOUT_ORDER = 1,
    CUBLASLT_MATRIX_LAYOUT_ROWS = 2,
    CUBLASLT_MATRIX_LAYOUT_COLS = 3,
    CUBLASLT_MATRIX_LAYOUT_LD = 4,
    CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5,
    CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6,
}

/// <summary>cublasLtOrder_t (value of CUBLASLT_MATRIX_LAYOUT_ORDER, an int32).</summary>
public enum cublasLtOrder_t
{
    CUBLASLT_ORDER_COL = 0,
    CUBLASLT_ORDER_ROW = 1,
}

/// <summary>cublasLtMatmulPreferenceAttributes_t.</summary>
public enum cublasLtMatmulPreferenceAttributes_t
{
    CUBLASLT_MATMUL_PREF_SEARCH_MODE = 0,
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
}

/// <summary>cublasLtMatmulAlgo_t: opaque, 8 × uint64 (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
public unsafe struct cublasLtMatmulAlgo_t
{
    public fixed ulong Data[8];
}

/// <summary>cublasLtMatmulHeuristicResult_t: { algo (64 B), size_t workspaceSize, cublasStatus_t state,
/// float wavesCount, int reserved[4] } = 96 bytes on 64-bit platforms.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct cublasLtMatmulHeuristicResult_t
{
    public cublasLtMatmulAlgo_t Algo;
    public nuint WorkspaceSize;
    public cublasStatus_t State;
    public float WavesCount;
    public fixed int Reserved[4];
}

/// <summary>cuBLASLt: raw declarations in <see cref="Api"/> and checked wrappers that throw <see cref="CublasException"/>.</summary>
public static unsafe partial class CublasLt
{
    /// <summary>The exported cuBLASLt entry points.</summary>
    public static unsafe partial class Api
    {
        private const string Lib = NativeLibraries.CublasLtName;

        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtCreate(out cublasLtHandle lightHandle);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtDestroy(cublasLtHandle lightHandle);
        [LibraryImport(Lib)] public static partial nuint cublasLtGetVersion();
        [LibraryImport(Lib)] public static partial byte* cublasLtGetStatusString(cublasStatus_t status);

        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatmulDescCreate(out cublasLtMatmulDesc matmulDesc, cublasComputeType_t computeType, cudaDataType_t scaleType);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc matmulDesc);
        // cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t, cublasLtMatmulDescAttributes_t, const void* buf, size_t sizeInBytes)
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc matmulDesc, cublasLtMatmulDescAttributes_t attr, void* buf, nuint sizeInBytes);

        // cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t*, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld)
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatrixLayoutCreate(out cublasLtMatrixLayout matLayout, cudaDataType_t type, ulong rows, ulong cols, long ld);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout matLayout);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout matLayout, cublasLtMatrixLayoutAttribute_t attr, void* buf, nuint sizeInBytes);

        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatmulPreferenceCreate(out cublasLtMatmulPreference pref);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference pref);
        [LibraryImport(Lib)] public static partial cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference pref, cublasLtMatmulPreferenceAttributes_t attr, void* buf, nuint sizeInBytes);

        // cublasLtMatmulAlgoGetHeuristic(handle, operationDesc, Adesc, Bdesc, Cdesc, Ddesc, preference,
        //                                int requestedAlgoCount, cublasLtMatmulHeuristicResult_t[], int* returnAlgoCount)
        [LibraryImport(Lib)]
        public static partial cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle lightHandle, cublasLtMatmulDesc operationDesc,
            cublasLtMatrixLayout Adesc, cublasLtMatrixLayout Bdesc, cublasLtMatrixLayout Cdesc, cublasLtMatrixLayout Ddesc,
            cublasLtMatmulPreference preference, int requestedAlgoCount, cublasLtMatmulHeuristicResult_t* heuristicResultsArray, out int returnAlgoCount);

        // cublasLtMatmul(handle, computeDesc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc,
        //                const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspaceSizeInBytes, cudaStream_t)
        [LibraryImport(Lib)]
        public static partial cublasStatus_t cublasLtMatmul(cublasLtHandle lightHandle, cublasLtMatmulDesc computeDesc,
            void* alpha, ulong A, cublasLtMatrixLayout Adesc, ulong B, cublasLtMatrixLayout Bdesc,
            void* beta, ulong C, cublasLtMatrixLayout Cdesc, ulong D, cublasLtMatrixLayout Ddesc,
            cublasLtMatmulAlgo_t* algo, ulong workspace, nuint workspaceSizeInBytes, CUstream stream);
    }

    /// <summary>Throws <see cref="CublasException"/> unless <paramref name="status"/> is CUBLAS_STATUS_SUCCESS.</summary>
    public static void Check(cublasStatus_t status, string call)
    {
        if (status != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
            throw new CublasException(call, status, StatusString(status));
    }

    private static string StatusString(cublasStatus_t status)
    {
        try
        {
            byte* s = Api.cublasLtGetStatusString(status);
            return s == null ? Cublas.StatusName(status) : Marshal.PtrToStringUTF8((nint)s)!;
        }
        catch (EntryPointNotFoundException)
        {
            return Cublas.StatusName(status);
        }
    }

    /// <summary>cuBLASLt's version, decoded from cublasLtGetVersion (major × 10000 + minor × 100 + patch).</summary>
    public static Version GetVersion()
    {
        int v = (int)Api.cublasLtGetVersion();
        return new Version(v / 10000, v / 100 % 100, v % 100);
    }

    public static cublasLtHandle Create()
    {
        Check(Api.cublasLtCreate(out var handle), nameof(Api.cublasLtCreate));
        return handle;
    }

    public static void Destroy(cublasLtHandle handle) => Check(Api.cublasLtDestroy(handle), nameof(Api.cublasLtDestroy));

    public static cublasLtMatmulDesc MatmulDescCreate(cublasComputeType_t computeType, cudaDataType_t scaleType)
    {
        Check(Api.cublasLtMatmulDescCreate(out var desc, computeType, scaleType), nameof(Api.cublasLtMatmulDescCreate));
        return desc;
    }

    public static void MatmulDescDestroy(cublasLtMatmulDesc desc) =>
        Check(Api.cublasLtMatmulDescDestroy(desc), nameof(Api.cublasLtMatmulDescDestroy));

    /// <summary>Sets a descriptor attribute to a value of the attribute's documented type.</summary>
    public static void MatmulDescSetAttribute<T>(cublasLtMatmulDesc desc, cublasLtMatmulDescAttributes_t attribute, T value) where T : unmanaged =>
        Check(Api.cublasLtMatmulDescSetAttribute(desc, attribute, &value, (nuint)sizeof(T)), nameof(Api.cublasLtMatmulDescSetAttribute));

    /// <summary>Sets TRANSA and TRANSB (stored as int32).</summary>
    public static void MatmulDescSetTranspose(cublasLtMatmulDesc desc, cublasOperation_t transa, cublasOperation_t transb)
    {
        MatmulDescSetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_TRANSA, (int)transa);
        MatmulDescSetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_TRANSB, (int)transb);
    }

    /// <summary>Sets the epilogue (uint32) and, when non-zero, the bias vector's device address.</summary>
    public static void MatmulDescSetEpilogue(cublasLtMatmulDesc desc, cublasLtEpilogue_t epilogue, ulong biasPointer = 0)
    {
        MatmulDescSetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_EPILOGUE, (uint)epilogue);
        if (biasPointer != 0)
            MatmulDescSetAttribute(desc, cublasLtMatmulDescAttributes_t.CUBLASLT_MATMUL_DESC_BIAS_POINTER, biasPointer);
    }

    /// <summary>A layout of rows × cols elements with leading dimension <paramref name="ld"/> (column-major
    /// unless CUBLASLT_MATRIX_LAYOUT_ORDER is set to row).</summary>
    public static cublasLtMatrixLayout MatrixLayoutCreate(cudaDataType_t type, ulong rows, ulong cols, long ld)
    {
        Check(Api.cublasLtMatrixLayoutCreate(out var layout, type, rows, cols, ld), nameof(Api.cublasLtMatrixLayoutCreate));
        return layout;
    }

    public static void MatrixLayoutDestroy(cublasLtMatrixLayout layout) =>
        Check(Api.cublasLtMatrixLayoutDestroy(layout), nameof(Api.cublasLtMatrixLayoutDestroy));

    public static void MatrixLayoutSetAttribute<T>(cublasLtMatrixLayout layout, cublasLtMatrixLayoutAttribute_t attribute, T value) where T : unmanaged =>
        Check(Api.cublasLtMatrixLayoutSetAttribute(layout, attribute, &value, (nuint)sizeof(T)), nameof(Api.cublasLtMatrixLayoutSetAttribute));

    public static cublasLtMatmulPreference MatmulPreferenceCreate()
    {
        Check(Api.cublasLtMatmulPreferenceCreate(out var pref), nameof(Api.cublasLtMatmulPreferenceCreate));
        return pref;
    }

    public static void MatmulPreferenceDestroy(cublasLtMatmulPreference pref) =>
        Check(Api.cublasLtMatmulPreferenceDestroy(pref), nameof(Api.cublasLtMatmulPreferenceDestroy));

    /// <summary>Limits the workspace the heuristic may choose algorithms for (uint64 bytes).</summary>
    public static void MatmulPreferenceSetMaxWorkspace(cublasLtMatmulPreference pref, ulong bytes) =>
        Check(Api.cublasLtMatmulPreferenceSetAttribute(pref, cublasLtMatmulPreferenceAttributes_t.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
            &bytes, sizeof(ulong)), nameof(Api.cublasLtMatmulPreferenceSetAttribute));

    /// <summary>Up to <paramref name="requested"/> algorithms, best first; empty when none fits.</summary>
    public static cublasLtMatmulHeuristicResult_t[] MatmulAlgoGetHeuristic(cublasLtHandle handle, cublasLtMatmulDesc desc,
        cublasLtMatrixLayout a, cublasLtMatrixLayout b, cublasLtMatrixLayout c, cublasLtMatrixLayout d,
        cublasLtMatmulPreference pref, int requested = 1)
    {
        var results = new cublasLtMatmulHeuristicResult_t[requested];
        int returned;
        fixed (cublasLtMatmulHeuristicResult_t* p = results)
            Check(Api.cublasLtMatmulAlgoGetHeuristic(handle, desc, a, b, c, d, pref, requested, p, out returned),
                nameof(Api.cublasLtMatmulAlgoGetHeuristic));
        return results[..returned];
    }

    /// <summary>D = alpha·op(A)·op(B) + beta·C, then the descriptor's epilogue. <paramref name="algo"/> may
    /// be null (cuBLASLt then runs its own heuristic each call).</summary>
    public static void Matmul(cublasLtHandle handle, cublasLtMatmulDesc desc, void* alpha,
        ulong a, cublasLtMatrixLayout aLayout, ulong b, cublasLtMatrixLayout bLayout,
        void* beta, ulong c, cublasLtMatrixLayout cLayout, ulong d, cublasLtMatrixLayout dLayout,
        cublasLtMatmulAlgo_t* algo, ulong workspace, ulong workspaceBytes, CUstream stream) =>
        Check(Api.cublasLtMatmul(handle, desc, alpha, a, aLayout, b, bLayout, beta, c, cLayout, d, dLayout,
            algo, workspace, (nuint)workspaceBytes, stream), nameof(Api.cublasLtMatmul));
}
