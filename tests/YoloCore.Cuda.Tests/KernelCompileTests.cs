using System.Runtime.InteropServices;
using YoloCore.Cuda;
using YoloCore.Native;

namespace YoloCore.Cuda.Tests;

/// Every kernel file compiles with NVRTC for the architectures we ship to, on a machine without a
/// GPU. NVRTC must be present (native/install-nvrtc.sh); YOLOCORE_SKIP_NVRTC=1 turns these into
/// early returns on machines that cannot install it.
public class KernelCompileTests
{
    public static IEnumerable<object[]> Targets() =>
        KernelRegistry.Files().SelectMany(f => new[] { 70, 75, 80, 90 }.Select(a => new object[] { f, a }));

    static bool NvrtcAvailable()
    {
        if (NativeLibraries.TryProbe(NativeLib.Nvrtc, out _, out var error)) return true;
        if (Environment.GetEnvironmentVariable("YOLOCORE_SKIP_NVRTC") == "1") return false;
        Assert.Fail($"NVRTC is needed to compile-check the kernels: run native/install-nvrtc.sh (or set YOLOCORE_SKIP_NVRTC=1).\n{error}");
        return false;
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void KernelFileCompiles(string file, int arch)
    {
        if (!NvrtcAvailable()) return;
        var supported = Nvrtc.GetSupportedArchs();
        Assert.Contains(arch, supported);
        var output = Nvrtc.Compile(KernelRegistry.Source(file), file + ".cu", [$"-arch=compute_{arch}", "-std=c++17", "-default-device"]);
        Assert.Equal(NvrtcImageKind.Ptx, output.Kind);
        string ptx = output.PtxText;
        Assert.Contains(".entry", ptx);
    }

    [Fact]
    public void EveryKernelTheBackendLaunchesExists()
    {
        if (!NvrtcAvailable()) return;
        // Names the backend builds: a representative set per family and dtype.
        string[] expected =
        [
            "unary/unary_forward_f32", "unary/unary_backward_f16", "binary/binary_forward_f16", "binary/axpy_f32",
            "reduce/sum_to_f32", "reduce/broadcast_to_f16", "reduce/sum_all_f16", "reduce/sum_all_f32", "layout/permute_u16", "layout/copy_rows_u64", "layout/concat_rows_u16", "layout/split_rows_u64",
            "index/index_select_u32", "index/index_copy_u8", "layout/slice_add_f16", "index/index_add_f32",
            "conv2d/im2col_f16", "conv2d/col2im_f32", "conv2d/conv_implicit_dgrad_n64_f16", "conv2d/add_bias_f16", "batchnorm2d/channel_sums_f16",
            "batchnorm2d/channel_sums_f32", "batchnorm2d/bn_sums_f16",
            "batchnorm2d/bn_train_apply_f16", "batchnorm2d/bn_eval_affine", "batchnorm2d/bn_apply_f32", "batchnorm2d/bn_sums_f32",
            "batchnorm2d/bn_backward_reduce_f32", "batchnorm2d/bn_silu_backward_reduce_f16", "batchnorm2d/bn_input_grad_f16",
            "batchnorm2d/bn_silu_train_apply_f32", "batchnorm2d/bn_silu_input_grad_f32",
            "maxpool2d/maxpool_forward_f32", "maxpool2d/maxpool_backward_f16", "upsample/upsample_forward_f32", "upsample/upsample_backward_f16",
            "bce/bce_forward_f32", "bce/bce_backward_f16", "yololoss/yolo_loss_forward_f16", "yololoss/yolo_loss_forward_f32", "yololoss/yolo_obj_backward_f16", "yololoss/yolo_targets_backward_f32", "sgd/sgd_step_f16", "adam/adam_step_f32", "multitensor/mt_unscale_check_f16", "multitensor/mt_sum_squares_f32", "multitensor/mt_sum_squares_f16", "multitensor/mt_axpby_f32", "multitensor/mt_cast_f32_f16", "multitensor/mt_cast_f16_f32", "multitensor/mt_zero_f32", "multitensor/mt_sgd_f16", "multitensor/mt_sgd_f32",
            "copy/cast_f32_f16", "copy/cast_f16_f32", "copy/cast_u8_f16", "copy/cast_i32_f32",
        ];
        foreach (var group in expected.Select(e => e.Split('/')).GroupBy(e => e[0]))
        {
            string ptx = Nvrtc.Compile(KernelRegistry.Source(group.Key), group.Key + ".cu", ["-arch=compute_75", "-std=c++17", "-default-device"]).PtxText;
            foreach (var e in group) Assert.True(ptx.Contains($".entry {e[1]}("), $"kernels/{group.Key}.cu has no kernel {e[1]}");
        }
    }

    /// Kernels.cs is what the kernels declare: a parameter added, removed or retyped in a .cu file
    /// and not in the binding fails here, not as garbage read by a kernel on a GPU.
    [Fact]
    public void TheTypedKernelLaunchesAreTheKernelsDeclarations()
    {
        string file = Path.Combine(Repo.Root, "src", "YoloCore.Cuda", "Kernels.cs");
        Assert.True(File.ReadAllText(file) == KernelBindings.Source(),
            "src/YoloCore.Cuda/Kernels.cs differs from kernels/*.cu: run `./yolocore doctor --kernel-bindings > src/YoloCore.Cuda/Kernels.cs`");
    }

    /// `doctor --kernel-bindings` in a checkout reads its kernels/ (kernels edited since the build):
    /// for the sources this build embeds, both readings give the same file.
    [Fact]
    public void TheBindingsFromACheckoutsKernelsEqualTheEmbeddedOnes() =>
        Assert.Equal(KernelBindings.Source(), KernelBindings.Source(Path.Combine(Repo.Root, "kernels")));

    /// The bindings' reading of the sources (macros expanded, ## pasted) finds exactly the kernels
    /// NVRTC compiles: every export it lists is an entry of its file's PTX, and every entry is listed.
    [Fact]
    public void TheBindingsFindEveryKernelNvrtcCompiles()
    {
        if (!NvrtcAvailable()) return;
        var exports = KernelBindings.Exports();
        foreach (var file in KernelRegistry.Files())
        {
            string ptx = Nvrtc.Compile(KernelRegistry.Source(file), file + ".cu", ["-arch=compute_75", "-std=c++17", "-default-device"]).PtxText;
            var entries = System.Text.RegularExpressions.Regex.Matches(ptx, @"\.entry\s+(\w+)\(").Select(m => m.Groups[1].Value).Order().ToList();
            var listed = exports.Where(e => e.File == file).Select(e => e.Name).Order().ToList();
            Assert.Equal(entries, listed);
            Assert.NotEmpty(listed);
        }
    }

    /// The implicit-GEMM convolution (forward and weight gradient) is tensor-core code from sm_80 on (an empty body below it,
    /// which the host never launches): its PTX there holds cp.async, ldmatrix and mma.sync, and
    /// ptxas fits it in registers without spilling (a spill would cost more than the GEMM saves;
    /// the launch with both gradients, a few words at most).
    [Fact]
    public void TheImplicitGemmConvolutionIsTensorCoreCodeWithoutSpills()
    {
        if (!NvrtcAvailable()) return;
        string ptx = Nvrtc.Compile(KernelRegistry.Source("conv2d"), "conv2d.cu", ["-arch=compute_80", "-std=c++17", "-default-device"]).PtxText;
        int entry = ptx.IndexOf(".entry conv_implicit_forward_n128_f16(", StringComparison.Ordinal);
        Assert.True(entry >= 0, "no conv_implicit_forward_n128_f16 in conv2d.cu's PTX");
        string body = ptx[entry..];
        foreach (var instruction in new[] { "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", "ldmatrix.sync.aligned.m8n8.x4.shared.b16", "cp.async.cg.shared.global" })
            Assert.Contains(instruction, body);
        Assert.Contains("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", ptx); // the weight gradient's operands
        if (!Nvrtc.GetSupportedArchs().Contains(80)) return;
        var cubin = Nvrtc.Compile(KernelRegistry.Source("conv2d"), "conv2d.cu", ["-arch=sm_80", "-std=c++17", "-default-device", "--ptxas-options=-v"]);
        foreach (var kernel in new[] { "conv_implicit_forward_n128_f16", "conv_implicit_forward_n64_f16", "conv_implicit_forward_n32_f16", "conv_implicit_wgrad_co128_f16", "conv_implicit_wgrad_co64_f16", "conv_implicit_wgrad_co128_f32", "conv_implicit_wgrad_co64_f32",
            "conv_implicit_dgrad_n128_f16", "conv_implicit_dgrad_n64_f16", "conv_implicit_dgrad_n32_f16" })
        {
            var (stores, loads) = Spills(cubin.Log, kernel);
            Assert.True(stores == 0 && loads == 0, $"{kernel} spills {stores} bytes (stores), {loads} (loads)");
        }
        // Both gradients in one launch hold at most 128 registers (two blocks per multiprocessor):
        // most pairs spill a few words (32 bytes at most on sm_80, docs/perf.md), not more; the two
        // launches apart are a tile candidate beside them, timed per shape.
        foreach (var kernel in new[] { "n128_co128", "n64_co128", "n32_co128", "n128_co64", "n64_co64", "n32_co64" }.SelectMany(t => new[] { $"conv_implicit_backward_{t}_f32", $"conv_implicit_backward_{t}_f16" }))
        {
            var (stores, loads) = Spills(cubin.Log, kernel);
            Assert.True(stores <= 32 && loads <= 32, $"{kernel} spills {stores} bytes (stores), {loads} (loads)");
        }
    }

    /// ptxas's spill stores and loads for a kernel, from its -v log.
    static (int Stores, int Loads) Spills(string log, string kernel)
    {
        var info = string.Join("\n", log.Split('\n').SkipWhile(l => !l.Contains($"'{kernel}'")).Take(4));
        var m = System.Text.RegularExpressions.Regex.Match(info, @"(\d+) bytes spill stores, (\d+) bytes spill loads");
        Assert.True(m.Success, $"no ptxas usage for {kernel} in:\n{log}");
        return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
    }

    [Fact]
    public void IncludesAreInlinedSoNoHeaderFilesAreNeeded()
    {
        string source = KernelRegistry.Source("unary");
        Assert.DoesNotContain("#include", source);
        Assert.Contains("struct f16", source);
    }

    /// kernels/enums.cuh is what the C# enums generate: an op code added or reordered in C# and
    /// not in the kernels fails here, not as a wrong result on a GPU.
    [Fact]
    public void TheKernelEnumHeaderIsTheCSharpEnums()
    {
        string file = Path.Combine(Repo.Root, "kernels", "enums.cuh");
        Assert.True(File.ReadAllText(file) == KernelEnums.Header(),
            "kernels/enums.cuh differs from the C# enums: run `./yolocore doctor --kernel-enums > kernels/enums.cuh`");
    }

    [Fact]
    public void ArgumentStructsMatchCommonCuh()
    {
        // struct Walk { int rank; i64 dims[8]; i64 strides[8]; } is 8 + 64 + 64 bytes in CUDA.
        Assert.Equal(136, Marshal.SizeOf<Walk>());
    }
}
