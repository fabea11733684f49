using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using YoloCore.Cuda;
using YoloCore.Diagnostics;
using YoloCore.Native;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore doctor [--check]`: what this machine offers the engine (OS, .NET, CPU vector width,
/// each NVIDIA library found and its version, each GPU), and with --check every CUDA op compared
/// with the CPU op in float32 and float16. Exit code 1 when a check fails.
public sealed class DoctorCommand
{
    readonly Option<bool> checkOption = Opt.Flag("check", "run every CUDA op against the CPU op (float32 and float16) and print the table");
    readonly Option<string?> goldenOption = Opt.TextOrNull("golden", "with --check: also run the YOLOv5 golden cases in DIR on each GPU (heads, loss, every gradient)");
    readonly Option<string?> trainOption = Opt.TextOrNull("train-check", "with --check: also train yolov5n on DATA for N steps on the GPU (AMP) and the CPU (float32) and compare the losses");
    readonly Option<int> stepsOption = Opt.Int("train-steps", "steps of --train-check", 200);
    readonly Option<string?> onlyOption = Opt.TextOrNull("only", "with --check: only the ops whose name contains TEXT (e.g. conv)");
    readonly Option<bool> noGraphOption = Opt.Flag("no-graph", "with --check: leave out the captured step (a training step as CUDA graphs against the eager one; the slow part on the emulator)");
    readonly Option<bool> enumsOption = Opt.Flag("kernel-enums", "print kernels/enums.cuh as the C# enums define it (> kernels/enums.cuh)");
    readonly Option<bool> bindingsOption = Opt.Flag("kernel-bindings", "print the typed kernel launches as kernels/*.cu declare them (> src/YoloCore.Cuda/Kernels.cs; in a checkout, from its kernels/)");

    public static Command Create()
    {
        var d = new DoctorCommand();
        var c = new Command("doctor", "what this machine offers: OS, .NET, native libraries, GPUs; --check compares every CUDA op with the CPU")
        {
            d.checkOption, d.goldenOption, d.trainOption, d.stepsOption, d.onlyOption, d.noGraphOption, d.enumsOption, d.bindingsOption,
        };
        c.SetAction(d.Run);
        return c;
    }

    int Run(ParseResult parsed)
    {
        bool check = parsed.GetValue(checkOption), kernelEnums = parsed.GetValue(enumsOption);
        string? only = parsed.GetValue(onlyOption);
        bool graph = !parsed.GetValue(noGraphOption);
        string? golden = parsed.GetValue(goldenOption), trainData = parsed.GetValue(trainOption);
        int trainSteps = parsed.GetValue(stepsOption);
        if (kernelEnums)
        {
            Console.Write(YoloCore.Cuda.KernelEnums.Header());
            return 0;
        }
        if (parsed.GetValue(bindingsOption))
        {
            // In a checkout, from its kernels/: the bindings of kernels edited since the last build.
            string? dir = File.Exists(Path.Combine("kernels", "common.cuh")) ? "kernels" : null;
            Console.Error.WriteLine($"kernel bindings from {(dir is null ? "the kernels built into this yolocore" : "./kernels")}");
            Console.Write(YoloCore.Cuda.KernelBindings.Source(dir));
            return 0;
        }

        Console.WriteLine("YoloCore doctor");
        Console.WriteLine($"  OS          {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        Console.WriteLine($"  .NET        {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} logical cores, " +
            $"vectors: {(Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : "scalar")}");
        Console.WriteLine("Native libraries");
        foreach (var lib in Enum.GetValues<NativeLib>())
        {
            if (NativeLibraries.TryProbe(lib, out var path, out var error))
            {
                NativeLibraries.TryGetVersion(lib, out var version, out _);
                var missing = NativeLibraries.MissingEntryPoints(lib);
                Console.WriteLine($"  {NativeLibraries.DisplayName(lib),-22} {version,-8} {path}{(missing.Count > 0 ? $"  (missing: {string.Join(", ", missing)})" : "")}");
            }
            else Console.WriteLine($"  {NativeLibraries.DisplayName(lib),-22} not found ({error?.Split('\n')[0]})");
        }

        int gpus = 0;
        string? why = null;
        try
        {
            if (NativeLibraries.IsAvailable(NativeLib.Cuda))
            {
                CudaDriver.Init();
                gpus = CudaDriver.DeviceGetCount();
            }
            else why = "no CUDA driver";
        }
        catch (NativeCallException e) { why = e.Message; }
        Console.WriteLine($"GPUs: {(gpus > 0 ? gpus.ToString() : $"none ({why})")}");
        var backends = new List<CudaBackend>();
        for (int i = 0; i < gpus; i++)
        {
            var b = (CudaBackend)Backends.For(Device.Cuda(i));
            backends.Add(b);
            Console.WriteLine($"  cuda:{i}  {b.DeviceName}, compute capability {b.ComputeCapability.Major}.{b.ComputeCapability.Minor}, " +
                $"{b.TotalMemory / (1024.0 * 1024 * 1024):F1} GiB, kernels {b.KernelTarget}");
        }
        if (backends.Count > 0) Console.WriteLine($"  kernel cache {backends[0].KernelCacheDirectory}");

        if (!check) return 0;
        if (backends.Count == 0)
        {
            Console.Error.WriteLine("doctor --check needs a GPU: " + why);
            return 1;
        }
        bool allPassed = true;
        foreach (var b in backends)
        {
            var clock = Stopwatch.StartNew();
            var rows = new List<ParityResult>();
            foreach (var dtype in new[] { DType.Float32, DType.Float16 })
            {
                rows.AddRange(BackendParity.Run(b.Device, dtype, filter: c => only is null || c.Name.Contains(only, StringComparison.OrdinalIgnoreCase)));
                // The step's tail, with gradients of this dtype.
                rows.AddRange(OptimizerParity.Run(b.Device, dtype).Where(r => only is null || r.Op.Contains(only, StringComparison.OrdinalIgnoreCase)));
            }
            Console.WriteLine();
            Console.WriteLine($"{"op",-26} {"dtype",-8} {"input shapes",-42} {"out err",9} {"grad err",9} {"tol",7}  result");
            foreach (var r in rows)
            {
                Console.WriteLine($"{r.Op,-26} {r.DType.Name(),-8} {Truncate(r.Shape, 42),-42} {r.OutputError,9:E2} {r.GradientError,9:E2} {r.Tolerance,7:G2}  {(r.Passed ? "pass" : "FAIL " + r.Failure)}");
                allPassed &= r.Passed;
            }
            var (compiled, cached) = b.KernelStats;
            Console.WriteLine($"{b.Device} {b.DeviceName}: {rows.Count(r => r.Passed)}/{rows.Count} passed in {clock.Elapsed.TotalSeconds:F1} s " +
                $"(kernel files compiled {compiled}, from cache {cached})");
            if (graph && (only is null || "captured step".Contains(only, StringComparison.OrdinalIgnoreCase))) allPassed &= GraphCheck(b.Device);
            if (only is null || "yolov5n training step against the cpu".Contains(only, StringComparison.OrdinalIgnoreCase)) allPassed &= ModelCheck(b.Device);
            if (golden is not null) allPassed &= GoldenCheck.Run(golden, b.Device);
            if (trainData is not null) allPassed &= TrainCheck(trainData, b.Device, trainSteps);
            // Every reduction that finishes in its last block sets its counters back to 0; one left
            // nonzero means some launch's blocks did not all take their ticket.
            int left = b.TicketsInUse();
            Console.WriteLine($"ticket counters after every launch above: {left} left nonzero  {(left == 0 ? "pass" : "FAIL")}");
            allPassed &= left == 0;
        }
        return allPassed ? 0 : 1;
    }

    /// yolov5n trained on the dataset at 320 px, batch 16, on the GPU with AMP and on the CPU in
    /// float32 from the same weights and batches: the GPU loss within 5% of the CPU's at every 20th
    /// step, and at most 5 steps skipped by the loss scaler.
    static bool TrainCheck(string dataYaml, Device device, int steps)
    {
        Console.WriteLine();
        Console.WriteLine($"training check: yolov5n, {dataYaml}, 320 px, batch 16, {steps} steps, {device} AMP vs CPU float32");
        var clock = Stopwatch.StartNew();
        var (rows, skipped) = TrainingParity.Run(dataYaml, "yolov5n", 320, 16, steps, device, amp: true, progress: r =>
        {
            if (r.Step % 20 == 0 || r.Step == steps - 1)
                Console.WriteLine($"  step {r.Step,4}  cpu {r.ReferenceLoss,9:F4}  {device} {r.DeviceLoss,9:F4}  diff {r.RelativeDifference,7:P2}  ({clock.Elapsed.TotalSeconds:F0} s)");
        });
        var checkedRows = rows.Where(r => r.Step % 20 == 0 || r.Step == rows.Count - 1).ToList();
        double worst = checkedRows.Max(r => r.RelativeDifference);
        bool pass = worst <= 0.05 && skipped <= 5;
        Console.WriteLine($"training check: worst difference {worst:P2} at the checked steps, {skipped} steps skipped by the loss scaler  {(pass ? "pass" : "FAIL")}");
        return pass;
    }

    /// The training step captured as a CUDA graph against the eager step on the same GPU (AMP):
    /// CapturedStepParity's eight steps, losses and state within 1e-3, with an optimizer step
    /// every step and every second step (micro-batches that only accumulate have graphs of their
    /// own). Eager and replay queue the same kernels and none adds with atomics in training, so
    /// they should agree exactly (the emulator shows 0); the tolerance is for the hardware.
    /// ModelStepParity: yolov5n's training forward and backward (64 px, batch 2) in AMP on the GPU
    /// against float32 on the CPU, on whichever paths the environment turns on. Loose tolerances
    /// (ModelStepParity.Result says why): a smoke test of the whole model, beside the op rows.
    static bool ModelCheck(Device device)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var r = ModelStepParity.Compare(device);
            Console.WriteLine($"yolov5n training step against the CPU (AMP against float32): loss {r.Loss:E2} (tol {ModelStepParity.Result.LossTolerance:G2}), " +
                $"gradients and statistics: median {r.Median:E2} (tol {ModelStepParity.Result.MedianTolerance:G2}), worst {r.Worst:E2} ({r.WorstName}; " +
                $"tol {ModelStepParity.Result.WorstTolerance:G2}), {clock.Elapsed.TotalSeconds:F1} s  {(r.Passed ? "pass" : "FAIL")}");
            return r.Passed;
        }
        catch (Exception e) when (e is InvalidOperationException or NativeCallException or ArgumentException or NotSupportedException)
        {
            Console.WriteLine($"yolov5n training step against the CPU: FAIL {e.GetType().Name}: {e.Message}");
            return false;
        }
    }

    static bool GraphCheck(Device device)
    {
        bool all = true;
        foreach (int accumulate in new[] { 1, 2 })
        {
            string name = accumulate == 1 ? "captured step" : $"captured step, accumulating {accumulate}";
            var clock = Stopwatch.StartNew();
            try
            {
                var r = CapturedStepParity.Compare(device, amp: true, accumulate: accumulate);
                bool pass = r.LossDifference <= 1e-3 && r.StateDifference <= 1e-3 && r.Captures >= 2 && r.Replays >= 4;
                Console.WriteLine($"{name}: {r.Steps} steps, {r.Captures} graphs ({r.GraphOps} ops), {r.Replays} replays; against eager: " +
                    $"loss {r.LossDifference:E2}, state {r.StateDifference:E2} (tol 1e-3), {clock.Elapsed.TotalSeconds:F1} s  {(pass ? "pass" : "FAIL")}");
                all &= pass;
            }
            catch (Exception e) when (e is InvalidOperationException or NativeCallException or ArgumentException or NotSupportedException)
            {
                Console.WriteLine($"{name}: FAIL {e.GetType().Name}: {e.Message}");
                all = false;
            }
        }
        return all;
    }

    static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
