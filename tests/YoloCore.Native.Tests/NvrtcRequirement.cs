// NVRTC tests need the library (NVRTC 11.2+). Without it they fail with instructions, so a machine
// that lacks NVRTC cannot pass them silently; YOLOCORE_SKIP_NVRTC=1 turns them into early returns.
using YoloCore.Native;

namespace YoloCore.Native.Tests;

internal static class NvrtcRequirement
{
    public const string SkipVariable = "YOLOCORE_SKIP_NVRTC";

    /// <summary>True when NVRTC is loaded (<paramref name="file"/> is its real path on Linux); false when
    /// it is missing and YOLOCORE_SKIP_NVRTC=1; otherwise fails the test.</summary>
    public static bool Available(out string file)
    {
        file = "";
        if (!NativeLibraries.TryProbe(NativeLib.Nvrtc, out _, out var error))
        {
            if (Environment.GetEnvironmentVariable(SkipVariable) == "1")
                return false;
            Assert.Fail("NVRTC is required for this test but cannot be loaded. Install it: on Debian/Ubuntu run " +
                        "native/install-nvrtc.sh (package libnvrtc11.2 from the non-free component, " +
                        "/usr/lib/x86_64-linux-gnu/libnvrtc.so.11.2), or install a CUDA toolkit. " +
                        $"Set {SkipVariable}=1 to skip the NVRTC tests.\n{error}");
        }
        NativeLibraries.Load(NativeLib.Nvrtc);
        file = LoadedFile("libnvrtc") ?? NativeLibraries.LoadedFrom(NativeLib.Nvrtc)!;
        return true;
    }

    /// <summary>On Linux, the path of a loaded shared object whose file name starts with <paramref name="prefix"/>.</summary>
    private static string? LoadedFile(string prefix)
    {
        if (!OperatingSystem.IsLinux())
            return null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash < 0)
                continue;
            string path = line[slash..].Trim();
            if (Path.GetFileName(path).StartsWith(prefix + ".so", StringComparison.Ordinal))
                return path;
        }
        return null;
    }
}
