// NVRTC compiles without a GPU: these run here and in CI against NVRTC 11.8 (Debian's libnvrtc11.2)
// and on the GPU machine against NVRTC 13. Kernels are self-contained (no CUDA headers), as the
// engine's kernels are.
using YoloCore.Native;

namespace YoloCore.Native.Tests;

public class NvrtcTests
{
    private const string Saxpy = """
        extern "C" __global__ void saxpy(float a, const float* __restrict__ x, float* __restrict__ y, unsigned int n)
        {
            unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] = a * x[i] + y[i];
        }
        """;

    // A half type stored as unsigned short, converted with inline PTX (what kernels/common.cuh does).
    private const string HalfScale = """
        struct half_t { unsigned short bits; };
        __device__ __forceinline__ float half_to_float(half_t h)
        {
            float f;
            asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
            return f;
        }
        __device__ __forceinline__ half_t float_to_half(float f)
        {
            half_t h;
            asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));
            return h;
        }
        extern "C" __global__ void scale_half(half_t* data, float scale, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) data[i] = float_to_half(half_to_float(data[i]) * scale);
        }
        """;

    private const string Broken = """
        extern "C" __global__ void broken(float* p)
        {
            p[threadIdx.x] = 1.0f   // missing semicolon
        }
        extern "C" __global__ void also_broken(float* p)
        {
            undefined_function(p);
        }
        """;

    /// <summary>compute_70 where this NVRTC supports it (11.x, 12.x); NVRTC 13 starts at 75.</summary>
    private static int TestArch()
    {
        var archs = Nvrtc.GetSupportedArchs();
        return archs.Contains(70) ? 70 : archs.Min();
    }

    [Fact]
    public void EveryDeclaredNvrtcEntryPointIsExported()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        Assert.Contains("nvrtcGetCUBIN", NativeLibraries.DeclaredEntryPoints(NativeLib.Nvrtc));
        Assert.Empty(NativeLibraries.MissingEntryPoints(NativeLib.Nvrtc));
    }

    [Fact]
    public void VersionAndSupportedArchitectures()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        var version = Nvrtc.GetVersion();
        Assert.True(version >= new Version(11, 2), $"NVRTC {version}");
        var archs = Nvrtc.GetSupportedArchs();
        Assert.NotEmpty(archs);
        Assert.Equal(archs.Order().ToArray(), archs);
        Assert.Contains(80, archs);
        Assert.All(archs, a => Assert.InRange(a, 30, 200));
    }

    [Fact]
    public void SaxpyCompilesToPtxWithItsEntryPoint()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        int arch = TestArch();
        var output = Nvrtc.Compile(Saxpy, "saxpy.cu", [$"--gpu-architecture=compute_{arch}"]);
        var (image, log) = output;
        Assert.Equal(NvrtcImageKind.Ptx, output.Kind);
        Assert.Equal(0, image[^1]); // NUL-terminated for cuModuleLoadData
        Assert.Equal("", log);
        string ptx = output.PtxText;
        Assert.Contains(".entry saxpy(", ptx);
        Assert.Contains($".target sm_{arch}", ptx);
        Assert.Contains("fma.rn.f32", ptx); // a * x + y contracted into one FMA
    }

    [Fact]
    public void HalfKernelWithInlinePtxConversionsCompiles()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        var output = Nvrtc.Compile(HalfScale, "scale_half.cu", [$"-arch=compute_{TestArch()}", "-default-device"]);
        string ptx = output.PtxText;
        Assert.Contains(".entry scale_half(", ptx);
        Assert.Contains("cvt.f32.f16", ptx);
        Assert.Contains("cvt.rn.f16.f32", ptx);
        Assert.Contains("ld.global.u16", ptx);
    }

    [Fact]
    public void ARealArchitectureGivesACubin()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        var output = Nvrtc.Compile(Saxpy, "saxpy.cu", [$"-arch=sm_{TestArch()}"]);
        Assert.Equal(NvrtcImageKind.Cubin, output.Kind);
        Assert.Equal([0x7F, (byte)'E', (byte)'L', (byte)'F'], output.Image[..4]);
        Assert.Throws<InvalidOperationException>(() => output.PtxText);
    }

    [Fact]
    public void SyntaxErrorThrowsWithTheFullCompileLog()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        var e = Assert.Throws<NvrtcCompileException>(() =>
            Nvrtc.Compile(Broken, "broken.cu", [$"-arch=compute_{TestArch()}"]));
        Assert.Equal(nvrtcResult.NVRTC_ERROR_COMPILATION, e.Result);
        Assert.Equal("nvrtcCompileProgram", e.Call);
        Assert.Equal("broken.cu", e.ProgramName);
        Assert.Contains("broken.cu(", e.Log);          // file(line): error ...
        Assert.Contains("error", e.Log);
        Assert.Contains("undefined_function", e.Log); // every error is in the log, not only the first
        Assert.Contains("2 errors detected", e.Log);
        Assert.Contains(e.Log, e.Message);             // the whole log travels in the message
        Assert.Contains("NVRTC_ERROR_COMPILATION", e.Message);
    }

    [Fact]
    public void UnknownOptionIsReportedAsSuch()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        var e = Assert.Throws<NvrtcCompileException>(() =>
            Nvrtc.Compile(Saxpy, "saxpy.cu", ["--no-such-option-for-nvrtc"]));
        Assert.Equal(nvrtcResult.NVRTC_ERROR_INVALID_OPTION, e.Result);
        Assert.Contains("--no-such-option-for-nvrtc", e.Message);
    }

    [Fact]
    public void NameExpressionsGiveTheLoweredTemplateNames()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        const string source = """
            template <int N> __global__ void fill(float* p) { p[threadIdx.x] = (float)N; }
            """;
        var output = Nvrtc.Compile(source, "fill.cu", [$"-arch=compute_{TestArch()}"], ["fill<3>", "fill<7>"]);
        string three = output.LoweredNames["fill<3>"];
        string seven = output.LoweredNames["fill<7>"];
        Assert.StartsWith("_Z", three);
        Assert.NotEqual(three, seven);
        Assert.Contains($".entry {three}(", output.PtxText);
        Assert.Contains($".entry {seven}(", output.PtxText);
    }

    [Fact]
    public void ErrorStringsComeFromNvrtc()
    {
        if (!NvrtcRequirement.Available(out _))
            return;
        Assert.Equal("NVRTC_ERROR_COMPILATION", Nvrtc.ErrorString(nvrtcResult.NVRTC_ERROR_COMPILATION));
        var e = Assert.Throws<NvrtcException>(() => Nvrtc.Check(nvrtcResult.NVRTC_ERROR_INVALID_PROGRAM, "nvrtcGetPTX"));
        Assert.Equal("nvrtcGetPTX failed: NVRTC_ERROR_INVALID_PROGRAM (4): NVRTC_ERROR_INVALID_PROGRAM", e.Message);
    }
}
