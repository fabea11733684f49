// The exceptions the status checks throw: one per library, all carrying the failed call's name, the
// numeric status and the library's own name for it, so a log line says exactly what went wrong.
namespace YoloCore.Native;

/// <summary>A call into a native library returned an error status.</summary>
public abstract class NativeCallException : Exception
{
    private protected NativeCallException(string call, int code, string codeName, string message)
        : base(message)
    {
        Call = call;
        Code = code;
        CodeName = codeName;
    }

    /// <summary>The C function that failed, e.g. <c>cuMemAlloc_v2</c>.</summary>
    public string Call { get; }
    /// <summary>The numeric status it returned.</summary>
    public int Code { get; }
    /// <summary>The status's name, e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>.</summary>
    public string CodeName { get; }
}

/// <summary>A CUDA driver API call failed (status <c>CUresult</c>).</summary>
public sealed class CudaException : NativeCallException
{
    internal CudaException(string call, CUresult result, string name, string description)
        : base(call, (int)result, name, $"{call} failed: {name} ({(int)result}): {description}")
    {
        Result = result;
        Description = description;
    }

    /// <summary>The driver's status.</summary>
    public CUresult Result { get; }
    /// <summary>The driver's description (cuGetErrorString).</summary>
    public string Description { get; }
}

/// <summary>An NVRTC call failed (status <c>nvrtcResult</c>).</summary>
public class NvrtcException : NativeCallException
{
    internal NvrtcException(string call, nvrtcResult result, string description, string? detail = null)
        : base(call, (int)result, result.ToString(),
               $"{call} failed: {result} ({(int)result}): {description}" + (detail is null ? "" : "\n" + detail))
    {
        Result = result;
    }

    /// <summary>NVRTC's status.</summary>
    public nvrtcResult Result { get; }
}

/// <summary>NVRTC rejected a program. <see cref="Exception.Message"/> and <see cref="Log"/> hold the
/// full compile log.</summary>
public sealed class NvrtcCompileException : NvrtcException
{
    internal NvrtcCompileException(string programName, nvrtcResult result, string description, string log, IReadOnlyList<string> options)
        : base("nvrtcCompileProgram", result, description,
               $"program '{programName}', options [{string.Join(" ", options)}]; compile log:\n{log}")
    {
        ProgramName = programName;
        Log = log;
        Options = options;
    }

    /// <summary>The program name given to NVRTC (appears in the log's file:line references).</summary>
    public string ProgramName { get; }
    /// <summary>NVRTC's compile log.</summary>
    public string Log { get; }
    /// <summary>The options the program was compiled with.</summary>
    public IReadOnlyList<string> Options { get; }
}

/// <summary>A cuBLAS or cuBLASLt call failed (status <c>cublasStatus_t</c>).</summary>
public sealed class CublasException : NativeCallException
{
    internal CublasException(string call, cublasStatus_t status, string description)
        : base(call, (int)status, Cublas.StatusName(status), $"{call} failed: {Cublas.StatusName(status)} ({(int)status}): {description}")
    {
        Status = status;
    }

    /// <summary>cuBLAS's status.</summary>
    public cublasStatus_t Status { get; }
}

/// <summary>An NCCL call failed (status <c>ncclResult_t</c>).</summary>
public sealed class NcclException : NativeCallException
{
    internal NcclException(string call, ncclResult_t result, string description, string? lastError)
        : base(call, (int)result, result.ToString(),
               $"{call} failed: {result} ({(int)result}): {description}" +
               (string.IsNullOrEmpty(lastError) ? "" : $" (last error: {lastError})"))
    {
        Result = result;
        LastError = lastError;
    }

    /// <summary>NCCL's status.</summary>
    public ncclResult_t Result { get; }
    /// <summary>NCCL's detailed message for the failure (ncclGetLastError), when it has one.</summary>
    public string? LastError { get; }
}

/// <summary>A TurboJPEG call failed or warned (tjGetErrorCode: TJERR_WARNING 0, TJERR_FATAL 1).</summary>
public sealed class TurboJpegException : NativeCallException
{
    internal TurboJpegException(string call, string text, bool isWarning)
        : base(call, isWarning ? 0 : 1, isWarning ? "TJERR_WARNING" : "TJERR_FATAL", $"{call} failed: {text}")
    {
        IsWarning = isWarning;
    }

    /// <summary>TJERR_WARNING: the pixels were written, but the data was not clean (it ended early).</summary>
    public bool IsWarning { get; }
}
