using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using YoloCore.Cuda;
using YoloCore.Diagnostics;
using YoloCore.Distributed;
using YoloCore.Nn.Yolo;
using YoloCore.Training;

namespace YoloCore.Cli.Commands;

/// `yolocore bench`: timed YOLOv5 training steps on synthetic images and targets (forward, loss,
/// backward, optimizer, EMA), the way the PyTorch reference in benchmarks/pytorch times its own.
/// Prints images/s, step time, peak memory and a per-phase breakdown; --json for scripts.
/// Under `yolocore launch` (or torchrun) every rank runs the step with the bucketed gradient
/// reducer, so `launch --nproc-per-node 1 -- bench` against plain `bench` is the reducer's overhead.
public sealed class BenchCommand
{
    readonly Option<string> deviceOption = Opt.Text("device", "cpu, or a GPU: 0, cuda:0", "cpu");
    readonly Option<string?> cfgOption = Opt.TextOrNull("cfg", "model (yolov5s on a GPU, yolov5n on the CPU)");
    readonly Option<int?> batchOption = Opt.IntOrNull("batch-size", "total batch size (64 on a GPU, 8 on the CPU)", "batch");
    readonly Option<int?> imgOption = Opt.IntOrNull("imgsz", "image size (640 on a GPU, 320 on the CPU)", "img", "img-size");
    readonly Option<int?> warmupOption = Opt.IntOrNull("warmup", "untimed steps first (5 on a GPU, 1 on the CPU)");
    readonly Option<int?> stepsOption = Opt.IntOrNull("steps", "timed steps (20 on a GPU, 3 on the CPU)");
    readonly Option<int> ncOption = Opt.Int("nc", "classes", 80);
    readonly Option<int> accumulateOption = Opt.Int("accumulate", "micro-batches per optimizer step (gradients all-reduced on the last only)", 1);
    readonly Option<int> seedOption = Opt.Int("seed", "random seed", 0);
    readonly Option<bool> noAmpOption = Opt.Flag("no-amp", "float32 on a GPU instead of mixed precision");
    readonly Option<bool> jsonOption = Opt.Flag("json", "one JSON line for scripts");
    readonly Option<bool> graphOption = Opt.Flag("graph", "capture the step once as a CUDA graph and replay it (opt-in until checked on a GPU)");
    readonly Option<bool> profileOption = Opt.Flag("profile", "a table of time per op (each op waits for the device, so totals grow)");
    readonly Option<string> deferOption = Opt.Text("defer", "a Conv block's BatchNorm + SiLU left to the convolution that reads its output: " +
        "auto (where the backend applies it in its loads: the GPU's implicit GEMM), on, off", "auto");

    public static Command Create()
    {
        var b = new BenchCommand();
        var c = new Command("bench", "time YOLOv5 training steps (forward, loss, backward, SGD, EMA) on synthetic data: images/s, step time, " +
            "peak memory, phases. Mixed precision on GPUs unless --no-amp. Under `yolocore launch` the step runs data parallel and rank 0 prints.")
        {
            b.deviceOption, b.cfgOption, b.batchOption, b.imgOption, b.warmupOption, b.stepsOption, b.ncOption, b.accumulateOption, b.seedOption, b.noAmpOption, b.graphOption,
            b.jsonOption, b.profileOption, b.deferOption,
        };
        c.SetAction(b.Run);
        return c;
    }

    int Run(ParseResult r)
    {
        var device = Device.Parse(r.GetValue(deviceOption)!);
        bool gpu = !device.IsCpu;
        string cfg = r.GetValue(cfgOption) ?? (gpu ? "yolov5s" : "yolov5n");
        int batch = r.GetValue(batchOption) ?? (gpu ? 64 : 8), img = r.GetValue(imgOption) ?? (gpu ? 640 : 320);
        int warmup = r.GetValue(warmupOption) ?? (gpu ? 5 : 1), steps = r.GetValue(stepsOption) ?? (gpu ? 20 : 3), nc = r.GetValue(ncOption);
        bool amp = gpu && !r.GetValue(noAmpOption), json = r.GetValue(jsonOption), profile = r.GetValue(profileOption);
        int seed = r.GetValue(seedOption), accumulate = r.GetValue(accumulateOption);
        if (batch < 1 || img < 32 || steps < 1 || warmup < 0 || accumulate < 1) throw new CliUsageException("--batch-size, --img (≥ 32), --steps, --accumulate must be positive");
        // Whole accumulation windows: steps (micro-batches) rounded up to a multiple of --accumulate.
        steps = (steps + accumulate - 1) / accumulate * accumulate;
        warmup = (warmup + accumulate - 1) / accumulate * accumulate;
        if (img % 32 != 0) throw new CliUsageException($"--img {img} must be a multiple of the model stride 32");
        string deferText = r.GetValue(deferOption)!;
        bool? defer = deferText switch
        {
            "auto" => null, "on" => true, "off" => false,
            _ => throw new CliUsageException($"--defer {deferText}: expected auto, on or off"),
        };

        var env = DistributedEnv.FromEnvironment();
        int world = env.WorldSize, rankBatch = env.RankBatch(batch);
        device = env.DeviceFor(device);
        var backend = Backends.For(device);
        using var group = env.IsDistributed ? ProcessGroup.Join(env, device, TimeSpan.FromMinutes(10)) : null;
        // The step `train` runs (TrainingSetup): same parameter groups, weight decay, loss and reducer.
        using var setup = new TrainingSetup(ModelConfig.Load(cfg), nc, img, batch, new Hyperparameters(), OptimizerKind.SGD, device, amp, (ulong)seed, group);
        var (model, step, reducer) = (setup.Model, setup.Step, setup.Reducer);
        model.DeferActivations(defer);
        bool graph = r.GetValue(graphOption);
        step.UseGraphs = graph;
        var (images, targets) = SyntheticBatch(rankBatch, img, nc, seed + env.Rank, device);

        bool Closes(int i) => (i + 1) % accumulate == 0;
        for (int i = 0; i < warmup; i++) step.Run(images, targets, optimizerStep: Closes(i));
        backend.Synchronize();
        ResetPeak(backend, device);
        // Throughput without per-phase synchronisation, then the same steps again with it.
        var (reductions0, bytes0, wait0) = (reducer?.Reductions ?? 0, reducer?.BytesReduced ?? 0, reducer?.ExposedWait ?? TimeSpan.Zero);
        long launches0 = (backend as CudaBackend)?.Launches ?? 0, reads0 = Tensor.HostReads, replays0 = step.Replays;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) step.Run(images, targets, optimizerStep: Closes(i));
        backend.Synchronize();
        double stepMs = clock.Elapsed.TotalMilliseconds / steps;
        double? launchesPerStep = backend is CudaBackend cuda ? (cuda.Launches - launches0) / (double)steps : null;
        double hostReadsPerStep = (Tensor.HostReads - reads0) / (double)steps;
        int replays = (int)(step.Replays - replays0);
        int optimizerSteps = steps / accumulate;
        double reductionsPerStep = ((reducer?.Reductions ?? 0) - reductions0) / (double)optimizerSteps;
        double mibPerStep = ((reducer?.BytesReduced ?? 0) - bytes0) / 1048576.0 / optimizerSteps;
        double exposedMs = ((reducer?.ExposedWait ?? TimeSpan.Zero) - wait0).TotalMilliseconds / optimizerSteps;
        long peak = PeakBytes(backend, device);
        // On CUDA, also what the caching allocator held from the driver at most (its cache
        // included): PyTorch's max_memory_reserved, the figure to set beside a graph's peak.
        double? peakReservedMib = backend is CudaBackend held ? held.AllocatorStats.PeakReserved / 1048576.0 : null;
        var timer = new PhaseTimer(backend, enabled: true);
        for (int i = 0; i < steps; i++) step.Run(images, targets, optimizerStep: Closes(i), timer);
        var phases = timer.TotalsMs.ToDictionary(kv => kv.Key, kv => kv.Value / steps);
        List<OpProfiler.OpTotal>? ops = null;
        List<(string Work, long Count)>? byWork = null;
        if (profile)
        {
            step.UseGraphs = false; // per-op times need each op queued on its own
            var profiler = new OpProfiler(backend, backend is CudaBackend counted ? () => counted.Launches : null);
            var before = (backend as CudaBackend)?.LaunchesByWork.ToDictionary();
            Backends.Register(profiler.Backend);
            for (int i = 0; i < steps; i++) step.Run(images, targets, optimizerStep: Closes(i));
            Backends.Register(backend);
            ops = profiler.Report().ToList();
            if (backend is CudaBackend cudaBackend)
                byWork = cudaBackend.LaunchesByWork.Select(w => (w.Key, w.Value - before!.GetValueOrDefault(w.Key))).Where(w => w.Item2 > 0)
                    .OrderByDescending(w => w.Item2).ThenBy(w => w.Key, StringComparer.Ordinal).ToList();
        }
        images.Dispose();

        if (!env.IsMain) return 0;
        string deviceName = backend is CudaBackend cb ? cb.DeviceName : $"CPU ({Environment.ProcessorCount} cores)";
        var report = new
        {
            engine = "yolocore", cfg, batch, img, world_size = world, device = device.ToString(), device_name = deviceName, amp,
            params_count = model.ParameterCount(), steps, accumulate, step_ms = stepMs, images_per_s = batch * 1000 / stepMs,
            peak_memory_mib = peak / 1048576.0, peak_reserved_mib = peakReservedMib, phases_ms = phases,
            buckets = reducer?.Buckets.Count ?? 0, allreduce_per_optimizer_step = reductionsPerStep,
            allreduce_mib_per_step = mibPerStep, exposed_comm_ms = exposedMs,
            launches_per_step = launchesPerStep, host_reads_per_step = hostReadsPerStep, graph, graph_replays = replays, graph_ops = step.GraphOps,
            // The opt-in GPU paths this run took (environment variables; the CPU always fuses).
            implicit_gemm = !device.IsCpu && CudaBackend.ImplicitGemmOn, fused_bn_silu = device.IsCpu || YoloCore.Nn.ConvBnSilu.FusedOnEveryDevice,
            deferred_activations = (defer ?? backend.ReadsDeferredBatchNormSilu) && (device.IsCpu || YoloCore.Nn.ConvBnSilu.FusedOnEveryDevice),
        };
        if (json) Console.WriteLine(JsonSerializer.Serialize(report));
        else
        {
            Console.WriteLine($"yolocore bench: {cfg} ({report.params_count:N0} params), batch {batch}, {img}×{img}, {deviceName}, {(amp ? "AMP (float16 compute, float32 master)" : "float32")}");
            Console.WriteLine($"  {report.images_per_s:F1} images/s, {stepMs:F1} ms/step over {steps} steps after {warmup} warm-up; peak memory {report.peak_memory_mib:F0} MiB");
            Console.WriteLine($"  per step: {hostReadsPerStep:G3} host reads" + (launchesPerStep is { } l ? $", {l:F0} launches (kernels, GEMMs, copies, fills)" : ""));
            if (graph) Console.WriteLine($"  graph: {replays} of {steps} timed steps replayed, {step.Captures} captured ({step.GraphOps} ops each)");
            if (group is not null)
                Console.WriteLine($"  data parallel: {world} rank{(world > 1 ? "s" : "")}, {rankBatch} images per rank, {(device.IsCpu ? "TCP" : "NCCL")} communicator, " +
                    $"{reducer!.Buckets.Count} gradient buckets; per optimizer step ({accumulate} micro-batch{(accumulate > 1 ? "es" : "")}): " +
                    $"{reductionsPerStep:G3} all-reduces, {mibPerStep:F1} MiB, {exposedMs:F1} ms of communication not hidden by backward");
            Console.WriteLine("  per phase (synchronised): " + string.Join(", ", phases.Select(p => $"{p.Key} {p.Value:F1} ms")));
            if (ops is not null)
            {
                bool counted = backend is CudaBackend;
                Console.WriteLine($"  {"op (per step)",-34} {"ms",8} {"calls",6}" + (counted ? $" {"launches",8}" : ""));
                foreach (var o in ops.Take(40))
                    Console.WriteLine($"  {o.Op,-34} {o.Ms / steps,8:F2} {o.Calls / steps,6}" + (counted ? $" {o.Launches / steps,8}" : ""));
                Console.WriteLine($"  backend calls per step, all ops: {ops.Sum(o => o.Calls) / (double)steps:F0}" +
                    (counted ? $"; launches per step: {ops.Sum(o => o.Launches) / (double)steps:F0}" : ""));
                if (byWork is not null)
                {
                    Console.WriteLine($"  {"launches per step by kernel or work",-44} {"count",6}");
                    foreach (var (work, count) in byWork.Take(30)) Console.WriteLine($"  {work,-44} {count / (double)steps,6:G4}");
                    if (byWork.Count > 30) Console.WriteLine($"  ... and {byWork.Count - 30} more, {byWork.Skip(30).Sum(w => w.Count) / (double)steps:G4} launches");
                }
            }
        }
        return 0;
    }

    /// Random uint8 images and 4 random boxes per image (class, centre, size in [0.05, 0.5]).
    static (Tensor Images, double[] Targets) SyntheticBatch(int batch, int img, int nc, int seed, Device device)
    {
        var rng = new Rng((ulong)seed + 1);
        var pixels = new byte[(long)batch * img * img * 3];
        for (long i = 0; i < pixels.Length; i++) pixels[i] = (byte)rng.NextInt(256);
        var targets = new List<double>();
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < 4; k++)
            {
                double w = 0.05 + 0.45 * rng.NextDouble(), h = 0.05 + 0.45 * rng.NextDouble();
                targets.AddRange([b, rng.NextInt(nc), w / 2 + (1 - w) * rng.NextDouble(), h / 2 + (1 - h) * rng.NextDouble(), w, h]);
            }
        var host = Tensor.FromArray<byte>(pixels, new Shape(batch, img, img, 3));
        var images = TensorScope.Escape(host.To(device));
        host.Dispose();
        return (images, targets.ToArray());
    }

    static void ResetPeak(IBackend backend, Device device)
    {
        if (backend is CudaBackend cb) cb.ResetPeakMemory();
        else MemoryStats.ResetPeak(device);
    }

    static long PeakBytes(IBackend backend, Device device) =>
        backend is CudaBackend cb ? (long)cb.AllocatorStats.PeakAllocated : MemoryStats.PeakBytes(device);
}
