using System.Diagnostics;
using YoloCore.Native;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace YoloCore.Emulator.Tests;

/// The emulated GPU these tests run on: tests/cuda-emulator built into its build/ folder (once:
/// build.sh does nothing when it is up to date) and named first in YOLOCORE_CUDA_LIB_DIRS, so
/// that cuda:0 is the emulator even on a machine with a GPU.
static class EmulatedGpu
{
    public static readonly string Root = FindRoot();
    public static readonly string Directory = Path.Combine(Root, "tests", "cuda-emulator", "build");
    static readonly Lazy<string?> built = new(Build);

    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Install()
    {
        Environment.SetEnvironmentVariable(NativeLibraries.LibDirsVariable, Directory);
        YoloCore.Backends.Use(YoloCore.Cpu.CpuBackend.Create, YoloCore.Cuda.CudaBackend.Create);
        YoloCore.Diagnostics.OpCatalog.Add(YoloCore.Nn.Yolo.YoloLossOp.Catalog, YoloCore.Nn.Yolo.YoloLossOp.Wide);
    }

    /// Builds the emulator if needed; fails the calling test with the compiler's words if it cannot.
    public static void Require()
    {
        if (built.Value is string error) Assert.Fail("the CUDA emulator did not build: " + error);
    }

    static string? Build()
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(Root, "tests", "cuda-emulator", "build.sh"));
        psi.ArgumentList.Add(Directory);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? null : $"build.sh exited {p.ExitCode}:\n{output.Result}{errors}";
    }

    static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "YoloCore.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find YoloCore.sln above " + AppContext.BaseDirectory);
    }

    /// The environment of the opt-in fused path (implicit GEMM, Conv blocks as one op, deferred
    /// activations; the first tile candidates, untimed), with more variables added.
    public static Dictionary<string, string> FusedPath(params (string Name, string Value)[] more)
    {
        var env = new Dictionary<string, string>
        {
            ["YOLOCORE_IMPLICIT_GEMM"] = "1",
            ["YOLOCORE_FUSED_BN_SILU"] = "1",
            ["YOLOCORE_CONV_TILES"] = "fixed",
        };
        foreach (var (name, value) in more) env[name] = value;
        return env;
    }

    /// `yolocore ARGS` as a process on the emulator, with env added; its exit code and output.
    public static (int Code, string Output) Run(IEnumerable<string> args, Dictionary<string, string> env, int timeoutSeconds = 300)
    {
        Require();
        env[NativeLibraries.LibDirsVariable] = Directory;
        var (code, output, _) = YoloCore.Tests.CliProcess.Run(args, env, timeoutSeconds);
        return (code, output);
    }
}
