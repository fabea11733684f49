// Finds and loads the native libraries for the [LibraryImport] declarations in this assembly.
// The declarations name logical libraries ("cuda", "nvrtc", "cublas", "cublasLt", "nccl",
// "turbojpeg"); the resolver maps each to the newest installed version, so one build runs on CUDA
// 11.2 to 13.x.
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace YoloCore.Native;

/// <summary>The native libraries this assembly binds: NVIDIA's, and libjpeg-turbo's TurboJPEG.</summary>
public enum NativeLib
{
    /// <summary>CUDA driver API: <c>libcuda.so.1</c> / <c>nvcuda.dll</c>, installed with the display driver.</summary>
    Cuda,
    /// <summary>NVRTC, the run-time CUDA C++ compiler.</summary>
    Nvrtc,
    /// <summary>cuBLAS.</summary>
    Cublas,
    /// <summary>cuBLASLt, cuBLAS's matmul library with epilogues.</summary>
    CublasLt,
    /// <summary>NCCL, the collective-communication library (Linux only).</summary>
    Nccl,
    /// <summary>TurboJPEG, libjpeg-turbo's simple API (optional: the JPEG fast path).</summary>
    TurboJpeg,
}

/// <summary>What <see cref="NativeLibraries.Probe"/> tried and found.</summary>
/// <param name="Library">The library probed.</param>
/// <param name="Handle">The loaded library (owned by the caller; 0 when nothing loaded).</param>
/// <param name="Resolved">The full path or bare name that loaded, or null.</param>
/// <param name="TriedNames">File names tried, in order (newest version first).</param>
/// <param name="TriedDirectories">Directories tried before the loader path, in order.</param>
/// <param name="SearchedLoaderPath">Whether the bare names were also given to the system loader.</param>
/// <param name="LoadFailures">Candidates that exist but failed to load, with the loader's reason.</param>
public sealed record NativeLibraryProbe(
    NativeLib Library,
    nint Handle,
    string? Resolved,
    IReadOnlyList<string> TriedNames,
    IReadOnlyList<string> TriedDirectories,
    bool SearchedLoaderPath,
    IReadOnlyList<string> LoadFailures)
{
    /// <summary>True when the library loaded.</summary>
    public bool Found => Handle != 0;

    /// <summary>The error a caller sees when the library is required but missing.</summary>
    public NativeLibraryMissingException ToException() => new(this);
}

/// <summary>Thrown when an NVIDIA library cannot be found or loaded. The message names the library,
/// every file name and directory tried, and how to point the resolver at an installation
/// (<c>YOLOCORE_CUDA_LIB_DIRS</c>). Derives from <see cref="DllNotFoundException"/> so existing
/// handlers still catch it.</summary>
public sealed class NativeLibraryMissingException : DllNotFoundException
{
    internal NativeLibraryMissingException(NativeLibraryProbe probe) : base(NativeLibraries.DescribeMissing(probe))
    {
        Library = probe.Library;
        TriedNames = probe.TriedNames;
        TriedDirectories = probe.TriedDirectories;
        LoadFailures = probe.LoadFailures;
    }

    /// <summary>The library that is missing.</summary>
    public NativeLib Library { get; }
    /// <summary>File names tried, newest version first.</summary>
    public IReadOnlyList<string> TriedNames { get; }
    /// <summary>Directories tried before the system loader path.</summary>
    public IReadOnlyList<string> TriedDirectories { get; }
    /// <summary>Candidates that exist but failed to load, with the loader's reason.</summary>
    public IReadOnlyList<string> LoadFailures { get; }
}

/// <summary>The library resolver: which names are probed where, and what was loaded.</summary>
public static class NativeLibraries
{
    /// <summary>Environment variable: directories (separated by <see cref="Path.PathSeparator"/>) searched
    /// before the system loader path.</summary>
    public const string LibDirsVariable = "YOLOCORE_CUDA_LIB_DIRS";

    // Logical names used by the [LibraryImport] declarations.
    internal const string CudaName = "cuda";
    internal const string NvrtcName = "nvrtc";
    internal const string CublasName = "cublas";
    internal const string CublasLtName = "cublasLt";
    internal const string NcclName = "nccl";
    internal const string TurboJpegName = "turbojpeg";

    private static readonly object Gate = new();
    private static readonly nint[] Handles = new nint[6];
    private static readonly string?[] ResolvedNames = new string?[6];

#pragma warning disable CA2255 // The resolver must be registered before the first P/Invoke of this assembly runs.
    [ModuleInitializer]
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, ResolveImport);
#pragma warning restore CA2255

    /// <summary>The logical name the declarations use for <paramref name="lib"/>.</summary>
    public static string LogicalName(NativeLib lib) => lib switch
    {
        NativeLib.Cuda => CudaName,
        NativeLib.Nvrtc => NvrtcName,
        NativeLib.Cublas => CublasName,
        NativeLib.CublasLt => CublasLtName,
        NativeLib.Nccl => NcclName,
        NativeLib.TurboJpeg => TurboJpegName,
        _ => throw new ArgumentOutOfRangeException(nameof(lib)),
    };

    /// <summary>A human name for messages, e.g. "cuBLAS (libcublas)".</summary>
    public static string DisplayName(NativeLib lib) => lib switch
    {
        NativeLib.Cuda => "the CUDA driver API (libcuda / nvcuda)",
        NativeLib.Nvrtc => "NVRTC (libnvrtc)",
        NativeLib.Cublas => "cuBLAS (libcublas)",
        NativeLib.CublasLt => "cuBLASLt (libcublasLt)",
        NativeLib.Nccl => "NCCL (libnccl)",
        NativeLib.TurboJpeg => "TurboJPEG (libturbojpeg, from libjpeg-turbo)",
        _ => throw new ArgumentOutOfRangeException(nameof(lib)),
    };

    /// <summary>The file names probed for <paramref name="lib"/> on this OS, newest version first,
    /// the unversioned name last.</summary>
    public static IReadOnlyList<string> CandidateNames(NativeLib lib) => CandidateNames(lib, OperatingSystem.IsWindows());

    /// <summary>The file names probed for <paramref name="lib"/> on Windows or on Linux, newest first.
    /// Empty for NCCL on Windows, where NVIDIA does not ship it.</summary>
    public static IReadOnlyList<string> CandidateNames(NativeLib lib, bool windows) => (lib, windows) switch
    {
        (NativeLib.Cuda, false) => ["libcuda.so.1", "libcuda.so"],
        (NativeLib.Nvrtc, false) => ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        (NativeLib.Cublas, false) => ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        (NativeLib.CublasLt, false) => ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11", "libcublasLt.so"],
        (NativeLib.Nccl, false) => ["libnccl.so.2", "libnccl.so"],
        (NativeLib.TurboJpeg, false) => ["libturbojpeg.so.0", "libturbojpeg.so"],
        (NativeLib.Cuda, true) => ["nvcuda.dll"],
        (NativeLib.Nvrtc, true) => ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"],
        (NativeLib.Cublas, true) => ["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"],
        (NativeLib.CublasLt, true) => ["cublasLt64_13.dll", "cublasLt64_12.dll", "cublasLt64_11.dll"],
        (NativeLib.Nccl, true) => [],
        (NativeLib.TurboJpeg, true) => ["turbojpeg.dll"],
        _ => throw new ArgumentOutOfRangeException(nameof(lib)),
    };

    /// <summary>The directories named by <c>YOLOCORE_CUDA_LIB_DIRS</c> now, in order.</summary>
    public static IReadOnlyList<string> ConfiguredDirectories() =>
        ParseDirectories(Environment.GetEnvironmentVariable(LibDirsVariable));

    /// <summary>Splits a <see cref="Path.PathSeparator"/>-separated list, dropping empty entries.</summary>
    public static IReadOnlyList<string> ParseDirectories(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? []
            : value.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The probe order: every candidate name in each directory (directories in order, names
    /// newest first), then, when <paramref name="searchLoaderPath"/>, each bare name through the system
    /// loader (LD_LIBRARY_PATH, the ld.so cache and system folders on Linux; the DLL search path on Windows).
    /// A directory in the list therefore wins over a newer version elsewhere.</summary>
    public static IReadOnlyList<string> ProbeOrder(NativeLib lib, IReadOnlyList<string> directories, bool searchLoaderPath = true)
    {
        var names = CandidateNames(lib);
        var order = new List<string>();
        foreach (var dir in directories)
            foreach (var name in names)
                order.Add(Path.Combine(dir, name));
        if (searchLoaderPath)
            order.AddRange(names);
        return order;
    }

    /// <summary>Tries every candidate of <see cref="ProbeOrder"/> and keeps the first that loads. Nothing is
    /// cached: the caller owns <see cref="NativeLibraryProbe.Handle"/> (free it with <see cref="NativeLibrary.Free"/>).</summary>
    public static NativeLibraryProbe Probe(NativeLib lib, IReadOnlyList<string> directories, bool searchLoaderPath = true)
    {
        var names = CandidateNames(lib);
        var failures = new List<string>();
        foreach (var candidate in ProbeOrder(lib, directories, searchLoaderPath))
        {
            bool isPath = Path.IsPathRooted(candidate) || candidate.Contains(Path.DirectorySeparatorChar) || candidate.Contains('/');
            if (isPath && !File.Exists(candidate))
                continue;
            try
            {
                nint handle = NativeLibrary.Load(candidate);
                return new NativeLibraryProbe(lib, handle, candidate, names, directories, searchLoaderPath, failures);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                string reason = LoaderReason(e.Message);
                if (isPath || !IsPlainNotFound(candidate, reason))
                    failures.Add($"{candidate}: {reason}");
            }
        }
        return new NativeLibraryProbe(lib, 0, null, names, directories, searchLoaderPath, failures);
    }

    /// <summary>For a <c>doctor</c> command: probes <paramref name="lib"/> as the resolver would (the
    /// <c>YOLOCORE_CUDA_LIB_DIRS</c> directories, then the loader path) without keeping it loaded.</summary>
    /// <param name="lib">The library.</param>
    /// <param name="resolvedPathOrName">The path or name that loaded, or null.</param>
    /// <param name="error">The full "not found" explanation, or null.</param>
    public static bool TryProbe(NativeLib lib, out string? resolvedPathOrName, out string? error)
    {
        var probe = Probe(lib, ConfiguredDirectories());
        if (!probe.Found)
        {
            resolvedPathOrName = null;
            error = DescribeMissing(probe);
            return false;
        }
        NativeLibrary.Free(probe.Handle);
        resolvedPathOrName = probe.Resolved;
        error = null;
        return true;
    }

    /// <summary>Loads <paramref name="lib"/> once per process (the handle the declarations use).</summary>
    /// <exception cref="NativeLibraryMissingException">No candidate could be loaded.</exception>
    public static nint Load(NativeLib lib)
    {
        int i = (int)lib;
        lock (Gate)
        {
            if (Handles[i] != 0)
                return Handles[i];
            var probe = Probe(lib, ConfiguredDirectories());
            if (!probe.Found)
                throw probe.ToException();
            Handles[i] = probe.Handle;
            ResolvedNames[i] = probe.Resolved;
            return probe.Handle;
        }
    }

    /// <summary>True when <paramref name="lib"/> can be loaded (loading it as the declarations will).</summary>
    public static bool IsAvailable(NativeLib lib)
    {
        try
        {
            Load(lib);
            return true;
        }
        catch (NativeLibraryMissingException)
        {
            return false;
        }
    }

    /// <summary>The path or name <see cref="Load"/> used, or null if it has not loaded the library.</summary>
    public static string? LoadedFrom(NativeLib lib)
    {
        lock (Gate)
            return ResolvedNames[(int)lib];
    }

    /// <summary>Looks up an exported symbol (loading the library first), for entry points that differ
    /// between versions.</summary>
    public static bool TryGetExport(NativeLib lib, string symbol, out nint address) =>
        NativeLibrary.TryGetExport(Load(lib), symbol, out address);

    /// <summary>The symbols this assembly's <c>[LibraryImport]</c> declarations bind in <paramref name="lib"/>, sorted.</summary>
    public static IReadOnlyList<string> DeclaredEntryPoints(NativeLib lib)
    {
        Type api = lib switch
        {
            NativeLib.Cuda => typeof(CudaDriver.Api),
            NativeLib.Nvrtc => typeof(Nvrtc.Api),
            NativeLib.Cublas => typeof(Cublas.Api),
            NativeLib.CublasLt => typeof(CublasLt.Api),
            NativeLib.Nccl => typeof(Nccl.Api),
            NativeLib.TurboJpeg => typeof(TurboJpeg.Api),
            _ => throw new ArgumentOutOfRangeException(nameof(lib)),
        };
        return api.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => (Method: m, Import: m.GetCustomAttribute<LibraryImportAttribute>()))
            .Where(x => x.Import is not null)
            .Select(x => x.Import!.EntryPoint ?? x.Method.Name)
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>For a <c>doctor</c> command: the declared entry points the installed library does not export
    /// (empty when every binding can be called). Loads the library.</summary>
    public static IReadOnlyList<string> MissingEntryPoints(NativeLib lib)
    {
        nint handle = Load(lib);
        return DeclaredEntryPoints(lib).Where(symbol => !NativeLibrary.TryGetExport(handle, symbol, out _)).ToArray();
    }

    /// <summary>For a <c>doctor</c> command: the version the loaded library reports, e.g. "13.0" for NVRTC,
    /// "13.1.0" for cuBLAS, "2.28.3" for NCCL, "13000" → "13.0" for the driver's CUDA version.</summary>
    public static bool TryGetVersion(NativeLib lib, out string? version, out string? error)
    {
        try
        {
            version = lib switch
            {
                NativeLib.Cuda => FormatCudaVersion(CudaDriver.DriverGetVersion()),
                NativeLib.Nvrtc => Nvrtc.GetVersion().ToString(),
                NativeLib.Cublas => Cublas.GetVersion().ToString(),
                NativeLib.CublasLt => CublasLt.GetVersion().ToString(),
                NativeLib.Nccl => Nccl.GetVersion().ToString(),
                // TurboJPEG 2.x exports no version query: the API level its declarations use, once it loads.
                NativeLib.TurboJpeg => Load(lib) != 0 ? "2.0" : null,
                _ => throw new ArgumentOutOfRangeException(nameof(lib)),
            };
            error = null;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or NativeCallException)
        {
            version = null;
            error = e.Message;
            return false;
        }
    }

    /// <summary>Formats a CUDA version number (1000 × major + 10 × minor, as cuDriverGetVersion
    /// returns it): 13000 → "13.0", 12080 → "12.8".</summary>
    public static string FormatCudaVersion(int version) => $"{version / 1000}.{version % 1000 / 10}";

    internal static string DescribeMissing(NativeLibraryProbe probe)
    {
        var lib = probe.Library;
        string sep = Path.PathSeparator.ToString();
        var text = new System.Text.StringBuilder();
        text.Append($"Cannot load {DisplayName(lib)} (logical name '{LogicalName(lib)}').");
        if (probe.TriedNames.Count == 0)
        {
            text.Append(lib == NativeLib.Nccl
                ? " NCCL is not available on Windows: NVIDIA ships it for Linux only, so multi-GPU training needs Linux."
                : " There is no known file name for it on this OS.");
            return text.ToString();
        }
        text.Append($"\n  names tried (newest first): {string.Join(", ", probe.TriedNames)}");
        text.Append(probe.TriedDirectories.Count == 0
            ? $"\n  directories tried: none from {LibDirsVariable} (not set)"
            : $"\n  directories tried (from {LibDirsVariable}): {string.Join(", ", probe.TriedDirectories)}");
        if (probe.SearchedLoaderPath)
            text.Append(OperatingSystem.IsWindows()
                ? "\n  then the system DLL search path (the program folder, System32, PATH)"
                : $"\n  then the system loader path (LD_LIBRARY_PATH={Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "(unset)"}, the ld.so cache, /lib, /usr/lib)");
        foreach (var failure in probe.LoadFailures)
            text.Append($"\n  found but failed to load: {failure}");
        text.Append($"\nInstall {Installs(lib)}, or set {LibDirsVariable} to the folder(s) holding it, separated by '{sep}'.");
        return text.ToString();
    }

    private static string Installs(NativeLib lib) => lib switch
    {
        NativeLib.Cuda => "the NVIDIA display driver (it provides the CUDA driver API; a GPU is needed)",
        NativeLib.Nvrtc => "NVRTC 11.2 or newer (CUDA toolkit; on Debian/Ubuntu the package libnvrtc11.2 from non-free, see native/install-nvrtc.sh)",
        NativeLib.Cublas => "cuBLAS 11 or newer (CUDA toolkit, or the libcublas package)",
        NativeLib.CublasLt => "cuBLASLt 11 or newer (CUDA toolkit, or the libcublaslt package)",
        NativeLib.Nccl => "NCCL 2 (the libnccl2 package or NVIDIA's NCCL download)",
        NativeLib.TurboJpeg => "libjpeg-turbo's TurboJPEG (the libturbojpeg0 package)",
        _ => "it",
    };

    private static nint ResolveImport(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName switch
        {
            CudaName => Load(NativeLib.Cuda),
            NvrtcName => Load(NativeLib.Nvrtc),
            CublasName => Load(NativeLib.Cublas),
            CublasLtName => Load(NativeLib.CublasLt),
            NcclName => Load(NativeLib.Nccl),
            TurboJpegName => Load(NativeLib.TurboJpeg),
            _ => 0,
        };

    // .NET's message wraps dlerror()/FormatMessage in advice text; the loader's own line is the last one.
    private static string LoaderReason(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? message : lines[^1];
    }

    // A bare name the loader simply did not find is expected and not worth reporting; any other reason
    // (a missing dependency, a wrong architecture) is.
    private static bool IsPlainNotFound(string name, string reason) =>
        OperatingSystem.IsWindows()
            ? !reason.Contains("not a valid Win32 application", StringComparison.OrdinalIgnoreCase)
            : reason.StartsWith(name + ": cannot open shared object file", StringComparison.Ordinal) ||
              reason.Contains($"'{name}'", StringComparison.Ordinal) && reason.Contains("No such file", StringComparison.Ordinal);
}
