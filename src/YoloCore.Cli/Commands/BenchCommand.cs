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
public static class BenchCommand
{
    public static int Run(string[] argv)
    {
        var args = new CliArgs(argv);
        var device = Device.Parse(args.String("device", "cpu"));
        bool gpu = !device.IsCpu;
        string cfg = args.String("cfg", gpu ? "yolov5s" : "yolov5n");
        int batch = args.Int("batch-size", gpu ? 64 : 8), img = args.Int("img", gpu ? 640 : 320);
        int warmup = args.Int("warmup", gpu ? 5 : 1), steps = args.Int("steps", gpu ? 20 : 3), nc = args.Int("nc", 80);
        bool amp = gpu && !args.Flag("no-amp"), json = args.Flag("json"), profile = args.Flag("profile");
        int seed = args.Int("seed", 0);
        if (args.Help)
        {
            Console.WriteLine("""
                usage: yolocore bench [--cfg yolov5s] [--batch-size 64] [--img 640] [--device 0|cpu] [--no-amp]
                                      [--warmup 5] [--steps 20] [--nc 80] [--seed 0] [--json] [--profile]
                  Times YOLOv5 training steps (forward, loss, backward, SGD, EMA) on synthetic data.
                  Defaults on the CPU: yolov5n, batch 8, 320 px, 1 warm-up and 3 timed steps.
                  Mixed precision (float16 compute, float32 master weights) is on for GPUs unless --no-amp.
                  --profile adds a table of time per op (each op waits for the device, so totals grow).
                  Under `yolocore launch` the step runs data parallel (gradients all-reduced in buckets),
                  --batch-size is the total over all ranks and rank 0 prints.
                """);
            return 0;
        }
        args.RejectUnknown();
        if (batch < 1 || img < 32 || steps < 1 || warmup < 0) throw new CliUsageException("--batch-size, --img (≥ 32), --steps must be positive");
        if (img % 32 != 0) throw new CliUsageException($"--img {img} must be a multiple of the model stride 32");

        var env = DistributedEnv.FromEnvironment();
        int world = env.WorldSize, rankBatch = env.RankBatch(batch);
        device = env.DeviceFor(device);
        var backend = Backends.For(device);
        using var group = env.IsDistributed ? ProcessGroup.Join(env, device, TimeSpan.FromMinutes(10)) : null;
        // The step `train` runs (TrainingSetup): same parameter groups, weight decay, loss and reducer.
        using var setup = new TrainingSetup(ModelConfig.Load(cfg), nc, img, batch, new Hyperparameters(), OptimizerKind.SGD, device, amp, (ulong)seed, group);
        var (model, step, reducer) = (setup.Model, setup.Step, setup.Reducer);
        var (images, targets) = SyntheticBatch(rankBatch, img, nc, seed + env.Rank, device);

        for (int i = 0; i < warmup; i++) step.Run(images, targets, optimizerStep: true);
        backend.Synchronize();
        ResetPeak(backend, device);
        // Throughput without per-phase synchronisation, then the same steps again with it.
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) step.Run(images, targets, optimizerStep: true);
        backend.Synchronize();
        double stepMs = clock.Elapsed.TotalMilliseconds / steps;
        long peak = PeakBytes(backend, device);
        var timer = new PhaseTimer(backend, enabled: true);
        for (int i = 0; i < steps; i++) step.Run(images, targets, optimizerStep: true, timer);
        var phases = timer.TotalsMs.ToDictionary(kv => kv.Key, kv => kv.Value / steps);
        List<(string Op, double Ms, long Calls)>? ops = null;
        if (profile)
        {
            var profiler = new ProfilingBackend(backend);
            Backends.Register(profiler);
            for (int i = 0; i < steps; i++) step.Run(images, targets, optimizerStep: true);
            Backends.Register(backend);
            ops = profiler.Report().ToList();
        }
        images.Dispose();

        if (!env.IsMain) return 0;
        string deviceName = backend is CudaBackend cb ? cb.DeviceName : $"CPU ({Environment.ProcessorCount} cores)";
        var report = new
        {
            engine = "yolocore", cfg, batch, img, world_size = world, device = device.ToString(), device_name = deviceName, amp,
            params_count = model.ParameterCount(), steps, step_ms = stepMs, images_per_s = batch * 1000 / stepMs,
            peak_memory_mib = peak / 1048576.0, phases_ms = phases,
        };
        if (json) Console.WriteLine(JsonSerializer.Serialize(report));
        else
        {
            Console.WriteLine($"yolocore bench: {cfg} ({report.params_count:N0} params), batch {batch}, {img}×{img}, {deviceName}, {(amp ? "AMP (float16 compute, float32 master)" : "float32")}");
            Console.WriteLine($"  {report.images_per_s:F1} images/s, {stepMs:F1} ms/step over {steps} steps after {warmup} warm-up; peak memory {report.peak_memory_mib:F0} MiB");
            if (group is not null)
                Console.WriteLine($"  data parallel: {world} rank{(world > 1 ? "s" : "")}, {rankBatch} images per rank, {(device.IsCpu ? "TCP" : "NCCL")} communicator, {reducer!.Buckets.Count} gradient buckets");
            Console.WriteLine("  per phase (synchronised): " + string.Join(", ", phases.Select(p => $"{p.Key} {p.Value:F1} ms")));
            if (ops is not null)
            {
                Console.WriteLine($"  {"op (per step)",-34} {"ms",8} {"calls",6}");
                foreach (var (op, ms, calls) in ops.Take(40)) Console.WriteLine($"  {op,-34} {ms / steps,8:F2} {calls / steps,6}");
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
