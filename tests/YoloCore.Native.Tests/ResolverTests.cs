// The library resolver: probe order, the "missing" message, directory overrides, and that calling
// into a missing library fails with NativeLibraryMissingException rather than a bare DllNotFoundException.
using System.Runtime.InteropServices;
using YoloCore.Native;

namespace YoloCore.Native.Tests;

public class ResolverTests
{
    private static readonly string[] FakeDirs =
    [
        Path.Combine(Path.GetTempPath(), "yolocore-no-cuda-here-a"),
        Path.Combine(Path.GetTempPath(), "yolocore-no-cuda-here-b"),
    ];

    [Fact]
    public void LinuxCandidatesAreNewestFirstThenUnversioned()
    {
        Assert.Equal(["libcuda.so.1", "libcuda.so"], NativeLibraries.CandidateNames(NativeLib.Cuda, windows: false));
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
            NativeLibraries.CandidateNames(NativeLib.Nvrtc, windows: false));
        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
            NativeLibraries.CandidateNames(NativeLib.Cublas, windows: false));
        Assert.Equal(["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11", "libcublasLt.so"],
            NativeLibraries.CandidateNames(NativeLib.CublasLt, windows: false));
        Assert.Equal(["libnccl.so.2", "libnccl.so"], NativeLibraries.CandidateNames(NativeLib.Nccl, windows: false));
    }

    [Fact]
    public void WindowsCandidatesAreNewestFirstAndNcclHasNone()
    {
        Assert.Equal(["nvcuda.dll"], NativeLibraries.CandidateNames(NativeLib.Cuda, windows: true));
        Assert.Equal(["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"],
            NativeLibraries.CandidateNames(NativeLib.Nvrtc, windows: true));
        Assert.Equal(["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"],
            NativeLibraries.CandidateNames(NativeLib.Cublas, windows: true));
        Assert.Equal(["cublasLt64_13.dll", "cublasLt64_12.dll", "cublasLt64_11.dll"],
            NativeLibraries.CandidateNames(NativeLib.CublasLt, windows: true));
        Assert.Empty(NativeLibraries.CandidateNames(NativeLib.Nccl, windows: true));
    }

    [Fact]
    public void NcclOnWindowsSaysItIsNotAvailableThere()
    {
        var probe = new NativeLibraryProbe(NativeLib.Nccl, 0, null, [], [], true, []);
        var message = probe.ToException().Message;
        Assert.Contains("NCCL", message);
        Assert.Contains("not available on Windows", message);
    }

    [Fact]
    public void ProbeOrderIsEveryNameInEachConfiguredDirectoryThenTheLoaderPath()
    {
        var names = NativeLibraries.CandidateNames(NativeLib.Cublas);
        var order = NativeLibraries.ProbeOrder(NativeLib.Cublas, FakeDirs);
        var expected = FakeDirs.SelectMany(d => names.Select(n => Path.Combine(d, n))).Concat(names).ToArray();
        Assert.Equal(expected, order);

        var dirsOnly = NativeLibraries.ProbeOrder(NativeLib.Cublas, FakeDirs, searchLoaderPath: false);
        Assert.Equal(expected[..(FakeDirs.Length * names.Count)], dirsOnly);
    }

    [Fact]
    public void ConfiguredDirectoriesSplitOnThePathSeparatorAndDropEmptyEntries()
    {
        char sep = Path.PathSeparator;
        Assert.Equal(["/opt/a", "/opt/b", "/opt/c"], NativeLibraries.ParseDirectories($"/opt/a{sep}{sep} /opt/b {sep}/opt/c{sep}"));
        Assert.Empty(NativeLibraries.ParseDirectories(null));
        Assert.Empty(NativeLibraries.ParseDirectories("  "));

        using var env = new EnvVar(NativeLibraries.LibDirsVariable, string.Join(sep, FakeDirs));
        Assert.Equal(FakeDirs, NativeLibraries.ConfiguredDirectories());
    }

    [Theory]
    [InlineData(NativeLib.Cuda)]
    [InlineData(NativeLib.Nvrtc)]
    [InlineData(NativeLib.Cublas)]
    [InlineData(NativeLib.CublasLt)]
    [InlineData(NativeLib.Nccl)]
    public void MissingLibraryMessageNamesTheLibraryEveryNameAndEveryDirectory(NativeLib lib)
    {
        // Only the fake directories: deterministic on every machine, GPU or not.
        var probe = NativeLibraries.Probe(lib, FakeDirs, searchLoaderPath: false);
        Assert.False(probe.Found);
        var e = probe.ToException();
        Assert.IsType<NativeLibraryMissingException>(e);
        Assert.Equal(lib, e.Library);
        Assert.Contains(NativeLibraries.DisplayName(lib), e.Message);
        Assert.Contains($"'{NativeLibraries.LogicalName(lib)}'", e.Message);
        foreach (var name in NativeLibraries.CandidateNames(lib))
            Assert.Contains(name, e.Message);
        if (e.TriedNames.Count == 0)
            return; // NCCL on Windows: the message says it does not exist there (tested above)
        foreach (var dir in FakeDirs)
            Assert.Contains(dir, e.Message);
        Assert.Contains(NativeLibraries.LibDirsVariable, e.Message);
        Assert.Equal(NativeLibraries.CandidateNames(lib), e.TriedNames);
        Assert.Equal(FakeDirs, e.TriedDirectories);
    }

    [Theory]
    [InlineData(NativeLib.Cuda)]
    [InlineData(NativeLib.Cublas)]
    [InlineData(NativeLib.Nccl)]
    public void TryProbeWithFakeDirectoriesEitherFindsTheSystemLibraryOrExplainsEverythingTried(NativeLib lib)
    {
        using var env = new EnvVar(NativeLibraries.LibDirsVariable, string.Join(Path.PathSeparator, FakeDirs));
        if (NativeLibraries.TryProbe(lib, out var resolved, out var error))
        {
            // A GPU machine: the fake directories hold nothing, so the loader path supplied it.
            Assert.Null(error);
            Assert.Contains(resolved, NativeLibraries.CandidateNames(lib));
            return;
        }
        Assert.Null(resolved);
        Assert.NotNull(error);
        Assert.Contains(NativeLibraries.DisplayName(lib), error);
        foreach (var name in NativeLibraries.CandidateNames(lib))
            Assert.Contains(name, error);
        foreach (var dir in FakeDirs)
            Assert.Contains(dir, error);
        Assert.Contains("system loader path", error);
    }

    [Fact]
    public void UnsetVariableIsReportedAsSuch()
    {
        using var env = new EnvVar(NativeLibraries.LibDirsVariable, null);
        var probe = NativeLibraries.Probe(NativeLib.Cublas, NativeLibraries.ConfiguredDirectories(), searchLoaderPath: false);
        Assert.Contains($"none from {NativeLibraries.LibDirsVariable} (not set)", probe.ToException().Message);
    }

    [Fact]
    public void AFileThatExistsButDoesNotLoadIsReportedWithTheLoadersReason()
    {
        if (OperatingSystem.IsWindows())
            return; // the candidate names differ; the Linux run covers the logic
        string dir = Directory.CreateTempSubdirectory("yolocore-bad-lib-").FullName;
        try
        {
            string bogus = Path.Combine(dir, "libcublas.so.13");
            File.WriteAllText(bogus, "not an ELF file");
            var probe = NativeLibraries.Probe(NativeLib.Cublas, [dir], searchLoaderPath: false);
            Assert.False(probe.Found);
            var failure = Assert.Single(probe.LoadFailures);
            Assert.StartsWith(bogus + ": ", failure);
            Assert.Contains("found but failed to load: " + bogus, probe.ToException().Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AConfiguredDirectoryIsSearchedNewestVersionFirst()
    {
        if (!NvrtcRequirement.Available(out string real))
            return;
        if (OperatingSystem.IsWindows())
            return;
        // Two "versions" of NVRTC in one folder (links to the real one): the resolver must take .so.12
        // over .so.11.2, and the folder over the loader path.
        string dir = Directory.CreateTempSubdirectory("yolocore-nvrtc-dir-").FullName;
        try
        {
            File.CreateSymbolicLink(Path.Combine(dir, "libnvrtc.so.11.2"), real);
            File.CreateSymbolicLink(Path.Combine(dir, "libnvrtc.so.12"), real);
            var probe = NativeLibraries.Probe(NativeLib.Nvrtc, [dir], searchLoaderPath: false);
            Assert.True(probe.Found, probe.Found ? "" : probe.ToException().Message);
            Assert.Equal(Path.Combine(dir, "libnvrtc.so.12"), probe.Resolved);
            NativeLibrary.Free(probe.Handle);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Calling into each library: on a GPU machine it loads and answers; elsewhere the call fails with
    // the resolver's exception (never a bare DllNotFoundException or a crash).
    [Fact]
    public void CudaDriverCallIsCleanWhetherOrNotTheDriverIsInstalled() =>
        AssertLoadsOrMissing(NativeLib.Cuda, () =>
        {
            Assert.True(CudaDriver.DriverGetVersion() >= 11000);
            try
            {
                CudaDriver.Init();
            }
            catch (CudaException e) when (e.Result == CUresult.CUDA_ERROR_NO_DEVICE)
            {
                // a driver without a GPU (e.g. a container with only the libraries) is still a clean error
            }
        });

    [Fact]
    public void CublasCallIsCleanWhetherOrNotCublasIsInstalled() =>
        AssertLoadsOrMissing(NativeLib.Cublas, () => Assert.True(Cublas.GetVersion().Major >= 11));

    [Fact]
    public void CublasLtCallIsCleanWhetherOrNotCublasLtIsInstalled() =>
        AssertLoadsOrMissing(NativeLib.CublasLt, () => Assert.True(CublasLt.GetVersion().Major >= 11));

    [Fact]
    public void NcclCallIsCleanWhetherOrNotNcclIsInstalled() =>
        AssertLoadsOrMissing(NativeLib.Nccl, () => Assert.Equal(2, Nccl.GetVersion().Major));

    [Fact]
    public void DoctorVersionQueryReportsAVersionOrTheMissingLibrary()
    {
        foreach (var lib in Enum.GetValues<NativeLib>())
        {
            bool ok = NativeLibraries.TryGetVersion(lib, out var version, out var error);
            if (ok)
            {
                Assert.Matches(@"^\d+\.\d+(\.\d+)?$", version);
                Assert.Null(error);
            }
            else
            {
                Assert.Null(version);
                Assert.Contains(NativeLibraries.DisplayName(lib), error);
            }
        }
    }

    private static void AssertLoadsOrMissing(NativeLib lib, Action call)
    {
        bool available = NativeLibraries.IsAvailable(lib);
        Exception? thrown = Record.Exception(call);
        if (available)
        {
            Assert.Null(thrown);
            Assert.NotNull(NativeLibraries.LoadedFrom(lib));
            return;
        }
        Assert.NotNull(thrown);
        var missing = Assert.IsType<NativeLibraryMissingException>(thrown);
        Assert.Equal(lib, missing.Library);
        Assert.Contains(NativeLibraries.DisplayName(lib), missing.Message);
        Assert.Contains(NativeLibraries.LibDirsVariable, missing.Message);
        Assert.Null(NativeLibraries.LoadedFrom(lib));
    }
}

/// <summary>Sets an environment variable for a test's duration.</summary>
internal sealed class EnvVar : IDisposable
{
    private readonly string name;
    private readonly string? old;

    public EnvVar(string name, string? value)
    {
        this.name = name;
        old = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
    }

    public void Dispose() => Environment.SetEnvironmentVariable(name, old);
}
