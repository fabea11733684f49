using System.CommandLine;
using System.Diagnostics;

namespace YoloCore.Cli.Commands;

/// `yolocore demo`: trains TinyConvNet on a synthetic regression target on the CPU and prints the
/// loss falling, the step time and the memory the steps used. It shows the core at work (tensors,
/// autograd, BatchNorm, SGD, scoped memory) before the YOLOv5 trainer exists.
public sealed class DemoCommand
{
    readonly Option<int> stepsOption = Opt.Int("steps", "training steps", 200);
    readonly Option<double> lrOption = Opt.Double("lr", "learning rate", 0.05);
    readonly Option<int> seedOption = Opt.Int("seed", "random seed", 1);

    public static Command Create()
    {
        var d = new DemoCommand();
        var c = new Command("demo", "fit a small Conv-BN-SiLU network to a synthetic target on the CPU (the core's demo)") { d.stepsOption, d.lrOption, d.seedOption };
        c.SetAction(d.Run);
        return c;
    }

    int Run(ParseResult r)
    {
        int steps = r.GetValue(stepsOption), seed = r.GetValue(seedOption);
        double lr = r.GetValue(lrOption);
        if (steps < 1) throw new CliUsageException("--steps must be at least 1");

        using var net = new TinyConvNet((ulong)seed);
        using var opt = net.Optimizer(lr);
        var (x, target) = TinyConvNet.SyntheticBatch((ulong)seed + 1);
        Console.WriteLine($"TinyConvNet: Conv-BN-SiLU ×3 + 1×1 head, {net.ParameterCount():N0} parameters, input {x.Shape} NHWC, target {target.Shape}");
        MemoryStats.ResetPeak(Device.Cpu);
        long liveBefore = MemoryStats.LiveBytes(Device.Cpu);
        double first = 0, last = 0;
        var clock = Stopwatch.StartNew();
        for (int step = 1; step <= steps; step++)
        {
            using var scope = TensorScope.Begin();
            var loss = net.Loss(x, target);
            last = loss.Item();
            if (step == 1) first = last;
            if (!double.IsFinite(last))
            {
                Console.Error.WriteLine($"loss is {last} at step {step}: stopping (try a smaller --lr)");
                return 1;
            }
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
            if (step == 1 || step % Math.Max(1, steps / 10) == 0 || step == steps)
                Console.WriteLine($"step {step,5}  loss {last:F6}  ({last / first:P1} of start)");
        }
        clock.Stop();
        Console.WriteLine($"{steps} steps in {clock.Elapsed.TotalSeconds:F2} s ({clock.Elapsed.TotalMilliseconds / steps:F2} ms/step); " +
            $"peak step memory {(MemoryStats.PeakBytes(Device.Cpu) - liveBefore) / 1024.0:F0} KiB; live after the steps " +
            $"{(MemoryStats.LiveBytes(Device.Cpu) - liveBefore) / 1024.0:F0} KiB (momentum buffers)");
        x.Dispose();
        target.Dispose();
        return last < first ? 0 : 1;
    }
}
