using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using YoloCore.Native;

namespace YoloCore.Cuda;

/// Compiles the embedded kernels/*.cu with NVRTC for the device's compute capability, once per
/// source file, and caches the result on disk keyed by source hash + architecture + NVRTC version
/// (so a second run starts without compiling). `#include "x.cuh"` lines are inlined from the
/// embedded headers: no CUDA toolkit headers are involved.
internal sealed partial class KernelRegistry
{
    readonly CudaDevice device;
    readonly Dictionary<string, CUmodule> modules = [];
    readonly Dictionary<string, CUfunction> functions = [];
    readonly object gate = new();

    public KernelRegistry(CudaDevice device)
    {
        this.device = device;
        var (major, minor) = device.ComputeCapability;
        Arch = major * 10 + minor;
        var v = Nvrtc.GetVersion();
        NvrtcVersion = $"{v.Major}.{v.Minor}";
        // A CUBIN for the device when NVRTC knows its architecture; otherwise PTX for the newest
        // architecture NVRTC knows, which the driver compiles for the device when loading it.
        var supported = Nvrtc.GetSupportedArchs();
        Target = supported.Contains(Arch) ? $"-arch=sm_{Arch}"
            : supported.Where(a => a <= Arch).DefaultIfEmpty(0).Max() is int a and > 0 ? $"-arch=compute_{a}"
            : throw new NotSupportedException($"NVRTC {NvrtcVersion} cannot target compute capability {major}.{minor} (it supports {string.Join(", ", supported)})");
        CacheDirectory = Environment.GetEnvironmentVariable("YOLOCORE_KERNEL_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "yolocore", "kernels");
    }

    public int Arch { get; }
    /// The NVRTC architecture option in use (-arch=sm_XX for a CUBIN, or -arch=compute_XX for PTX).
    public string Target { get; }
    public string NvrtcVersion { get; }
    public string CacheDirectory { get; }
    public int Compiled { get; private set; }
    public int LoadedFromCache { get; private set; }

    /// The kernel `name` from kernels/`file`.cu.
    public CUfunction Get(string file, string name)
    {
        string key = file + "/" + name;
        lock (gate)
        {
            if (functions.TryGetValue(key, out var f)) return f;
            if (!modules.TryGetValue(file, out var module)) modules[file] = module = Load(file);
            device.MakeCurrent();
            return functions[key] = CudaDriver.ModuleGetFunction(module, name);
        }
    }

    CUmodule Load(string file)
    {
        string source = Source(file);
        string[] options = [Target, "-std=c++17", "-default-device"];
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source + "\n" + string.Join(' ', options) + "\nnvrtc " + NvrtcVersion))).ToLowerInvariant();
        string cached = Path.Combine(CacheDirectory, $"{file}-{Target[6..]}-nvrtc{NvrtcVersion}-{hash[..16]}.bin");
        byte[] image;
        if (File.Exists(cached))
        {
            image = File.ReadAllBytes(cached);
            LoadedFromCache++;
        }
        else
        {
            image = Nvrtc.Compile(source, file + ".cu", options).Image;
            Compiled++;
            try
            {
                Directory.CreateDirectory(CacheDirectory);
                string tmp = cached + "." + Environment.ProcessId + ".tmp";
                File.WriteAllBytes(tmp, image);
                File.Move(tmp, cached, overwrite: true);
            }
            catch (IOException) { } // a read-only cache only costs a recompile next time
            catch (UnauthorizedAccessException) { }
        }
        device.MakeCurrent();
        return CudaDriver.ModuleLoadDataWithLog(image);
    }

    /// kernels/file.cu with its #include "…" lines replaced by the headers' text: the copies embedded
    /// in this assembly, or those in directory (a checkout's kernels/, for regenerating bindings
    /// before the edited kernels are built in).
    public static string Source(string file, string? directory = null)
    {
        string Read(string name) => directory is null ? Resource(name) : File.ReadAllText(Path.Combine(directory, name));
        return IncludeLine().Replace(Read(file + ".cu"), m => Read(m.Groups[1].Value).Replace("#pragma once", ""));
    }

    static string Resource(string name)
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("kernels/" + name)
            ?? throw new InvalidOperationException($"kernel source kernels/{name} is not embedded in YoloCore.Cuda");
        return new StreamReader(s).ReadToEnd();
    }

    /// Every kernel file (without extension), embedded or in directory, for compile checks.
    public static IEnumerable<string> Files(string? directory = null) =>
        directory is null
            ? Assembly.GetExecutingAssembly().GetManifestResourceNames().Where(n => n.StartsWith("kernels/") && n.EndsWith(".cu"))
                .Select(n => n["kernels/".Length..^3]).OrderBy(n => n, StringComparer.Ordinal)
            : Directory.GetFiles(directory, "*.cu").Select(f => Path.GetFileNameWithoutExtension(f)).OrderBy(n => n, StringComparer.Ordinal);

    [GeneratedRegex("^#include \"([^\"]+)\"\\s*$", RegexOptions.Multiline)]
    private static partial Regex IncludeLine();
}
