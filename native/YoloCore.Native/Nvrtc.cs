// NVRTC bindings (nvrtc.h; libnvrtc.so.13/.12/.11.2, nvrtc64_*.dll) and Nvrtc.Compile, which turns
// CUDA C++ source into a module image for cuModuleLoadData: a CUBIN when the options name a real
// architecture (-arch=sm_90), a NUL-terminated PTX text for a virtual one (-arch=compute_90).
using System.Runtime.InteropServices;
using System.Text;

namespace YoloCore.Native;

/// <summary>nvrtcResult (values from nvrtc.h).</summary>
public enum nvrtcResult
{
    NVRTC_SUCCESS = 0,
    NVRTC_ERROR_OUT_OF_MEMORY = 1,
    NVRTC_ERROR_PROGRAM_CREATION_FAILURE = 2,
    NVRTC_ERROR_INVALID_INPUT = 3,
    NVRTC_ERROR_INVALID_PROGRAM = 4,
    NVRTC_ERROR_INVALID_OPTION = 5,
    NVRTC_ERROR_COMPILATION = 6,
    NVRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7,
    NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION = 8,
    NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION = 9,
    NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID = 10,
    NVRTC_ERROR_INTERNAL_ERROR = 11,
    NVRTC_ERROR_TIME_FILE_WRITE_FAILED = 12,
    NVRTC_ERROR_NO_PCH_CREATE_ATTEMPTED = 13,
    NVRTC_ERROR_PCH_CREATE_HEAP_EXHAUSTED = 14,
    NVRTC_ERROR_PCH_CREATE = 15,
    NVRTC_ERROR_CANCELLED = 16,
    NVRTC_ERROR_TIME_TRACE_FILE_WRITE_FAILED = 17,
}

/// <summary>nvrtcProgram.</summary>
public readonly record struct nvrtcProgram(nint Handle) { public bool IsNull => Handle == 0; }

/// <summary>What kind of image <see cref="Nvrtc.Compile"/> produced.</summary>
public enum NvrtcImageKind
{
    /// <summary>PTX text with its terminating NUL (JIT-compiled by the driver on load).</summary>
    Ptx,
    /// <summary>A CUBIN for one real architecture.</summary>
    Cubin,
}

/// <summary>The result of <see cref="Nvrtc.Compile"/>. Deconstructs to <c>(image, log)</c>.</summary>
/// <param name="Image">Bytes to pass to cuModuleLoadData.</param>
/// <param name="Kind">PTX or CUBIN.</param>
/// <param name="Log">NVRTC's log (warnings; empty for a clean compile).</param>
/// <param name="LoweredNames">Mangled names of the requested name expressions (templates), by expression.</param>
public sealed record NvrtcOutput(byte[] Image, NvrtcImageKind Kind, string Log, IReadOnlyDictionary<string, string> LoweredNames)
{
    public void Deconstruct(out byte[] image, out string log)
    {
        image = Image;
        log = Log;
    }

    /// <summary>The PTX as text (without the NUL); only for <see cref="NvrtcImageKind.Ptx"/>.</summary>
    public string PtxText => Kind == NvrtcImageKind.Ptx
        ? Encoding.UTF8.GetString(Image.AsSpan().TrimEnd((byte)0))
        : throw new InvalidOperationException("the image is a CUBIN, not PTX (compile with -arch=compute_XX for PTX)");
}

/// <summary>NVRTC: raw declarations in <see cref="Api"/>, checked wrappers that throw
/// <see cref="NvrtcException"/>, and <see cref="Compile"/>.</summary>
public static unsafe partial class Nvrtc
{
    /// <summary>The exported NVRTC entry points.</summary>
    public static unsafe partial class Api
    {
        private const string Lib = NativeLibraries.NvrtcName;

        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcVersion(out int major, out int minor);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcGetNumSupportedArchs(out int numArchs);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcGetSupportedArchs(int* supportedArchs);
        [LibraryImport(Lib)] public static partial byte* nvrtcGetErrorString(nvrtcResult result);

        // nvrtcCreateProgram(nvrtcProgram*, const char* src, const char* name, int numHeaders,
        //                    const char* const* headers, const char* const* includeNames)
        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        public static partial nvrtcResult nvrtcCreateProgram(out nvrtcProgram prog, string src, string? name,
            int numHeaders, byte** headers, byte** includeNames);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcDestroyProgram(ref nvrtcProgram prog);
        // nvrtcCompileProgram(nvrtcProgram, int numOptions, const char* const* options)
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, byte** options);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, out nuint logSizeRet);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, byte* log);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, out nuint ptxSizeRet);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcGetPTX(nvrtcProgram prog, byte* ptx);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcGetCUBINSize(nvrtcProgram prog, out nuint cubinSizeRet);
        [LibraryImport(Lib)] public static partial nvrtcResult nvrtcGetCUBIN(nvrtcProgram prog, byte* cubin);
        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        public static partial nvrtcResult nvrtcAddNameExpression(nvrtcProgram prog, string nameExpression);
        // nvrtcGetLoweredName(nvrtcProgram, const char* nameExpression, const char** loweredName); NVRTC owns the result.
        [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
        public static partial nvrtcResult nvrtcGetLoweredName(nvrtcProgram prog, string nameExpression, out byte* loweredName);
    }

    /// <summary>Throws <see cref="NvrtcException"/> unless <paramref name="result"/> is NVRTC_SUCCESS.</summary>
    public static void Check(nvrtcResult result, string call)
    {
        if (result != nvrtcResult.NVRTC_SUCCESS)
            throw new NvrtcException(call, result, ErrorString(result));
    }

    /// <summary>NVRTC's description of a status (nvrtcGetErrorString).</summary>
    public static string ErrorString(nvrtcResult result)
    {
        byte* s = Api.nvrtcGetErrorString(result);
        return s == null ? result.ToString() : Marshal.PtrToStringUTF8((nint)s)!;
    }

    /// <summary>NVRTC's version, e.g. 13.0 or 11.8.</summary>
    public static Version GetVersion()
    {
        Check(Api.nvrtcVersion(out int major, out int minor), nameof(Api.nvrtcVersion));
        return new Version(major, minor);
    }

    /// <summary>The SM architectures this NVRTC can target, e.g. [75, 80, 86, 89, 90, 100, 120] (ascending).</summary>
    public static int[] GetSupportedArchs()
    {
        Check(Api.nvrtcGetNumSupportedArchs(out int n), nameof(Api.nvrtcGetNumSupportedArchs));
        var archs = new int[n];
        fixed (int* p = archs)
            Check(Api.nvrtcGetSupportedArchs(p), nameof(Api.nvrtcGetSupportedArchs));
        return archs;
    }

    /// <summary>Compiles CUDA C++ <paramref name="source"/> and returns the module image and log.</summary>
    /// <param name="source">Self-contained CUDA C++ (headers, if any, are inlined by the caller).</param>
    /// <param name="name">Program name; it appears in the log's file:line references.</param>
    /// <param name="options">NVRTC options, e.g. <c>-arch=compute_90</c> (PTX) or <c>-arch=sm_90</c> (CUBIN), <c>-default-device</c>.</param>
    /// <param name="nameExpressions">Optional expressions (e.g. <c>"gemm&lt;64&gt;"</c>) whose mangled names to return.</param>
    /// <exception cref="NvrtcCompileException">The program did not compile; the message holds the full log.</exception>
    public static NvrtcOutput Compile(string source, string name, string[] options, IReadOnlyList<string>? nameExpressions = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        Check(Api.nvrtcCreateProgram(out var prog, source, name, 0, null, null), nameof(Api.nvrtcCreateProgram));
        try
        {
            foreach (var expression in nameExpressions ?? [])
                Check(Api.nvrtcAddNameExpression(prog, expression), nameof(Api.nvrtcAddNameExpression));

            nvrtcResult compiled = CompileProgram(prog, options);
            string log = GetProgramLog(prog);
            if (compiled != nvrtcResult.NVRTC_SUCCESS)
                throw new NvrtcCompileException(name, compiled, ErrorString(compiled), log, options);

            var lowered = new Dictionary<string, string>();
            foreach (var expression in nameExpressions ?? [])
            {
                Check(Api.nvrtcGetLoweredName(prog, expression, out byte* mangled), nameof(Api.nvrtcGetLoweredName));
                lowered[expression] = Marshal.PtrToStringUTF8((nint)mangled)!;
            }

            // A virtual architecture yields no CUBIN (size 0); then the image is the PTX.
            if (Api.nvrtcGetCUBINSize(prog, out nuint cubinSize) == nvrtcResult.NVRTC_SUCCESS && cubinSize > 0)
            {
                var cubin = new byte[cubinSize];
                fixed (byte* p = cubin)
                    Check(Api.nvrtcGetCUBIN(prog, p), nameof(Api.nvrtcGetCUBIN));
                return new NvrtcOutput(cubin, NvrtcImageKind.Cubin, log, lowered);
            }
            Check(Api.nvrtcGetPTXSize(prog, out nuint ptxSize), nameof(Api.nvrtcGetPTXSize));
            var ptx = new byte[ptxSize]; // includes the terminating NUL cuModuleLoadData needs
            fixed (byte* p = ptx)
                Check(Api.nvrtcGetPTX(prog, p), nameof(Api.nvrtcGetPTX));
            return new NvrtcOutput(ptx, NvrtcImageKind.Ptx, log, lowered);
        }
        finally
        {
            Api.nvrtcDestroyProgram(ref prog);
        }
    }

    /// <summary>The program's log after nvrtcCompileProgram (empty when there is none).</summary>
    public static string GetProgramLog(nvrtcProgram prog)
    {
        Check(Api.nvrtcGetProgramLogSize(prog, out nuint size), nameof(Api.nvrtcGetProgramLogSize));
        if (size <= 1)
            return "";
        var buffer = new byte[size];
        fixed (byte* p = buffer)
            Check(Api.nvrtcGetProgramLog(prog, p), nameof(Api.nvrtcGetProgramLog));
        return Encoding.UTF8.GetString(buffer.AsSpan().TrimEnd((byte)0)).TrimEnd();
    }

    private static nvrtcResult CompileProgram(nvrtcProgram prog, string[] options)
    {
        var pointers = new nint[options.Length];
        try
        {
            for (int i = 0; i < options.Length; i++)
                pointers[i] = Marshal.StringToCoTaskMemUTF8(options[i]);
            fixed (nint* p = pointers)
                return Api.nvrtcCompileProgram(prog, options.Length, (byte**)p);
        }
        finally
        {
            foreach (var p in pointers)
                Marshal.FreeCoTaskMem(p);
        }
    }
}
