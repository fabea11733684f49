using YoloCore.Cli.Commands;

namespace YoloCore.Cli;

/// `yolocore COMMAND [options]`. Each command lives in Commands/ and prints its own --help.
public static class Program
{
    static readonly (string Name, string Summary, Func<string[], int> Run)[] commands =
    [
        ("train", "train a YOLOv5 detector (no --data: the synthetic shapes dataset, yolov5n, CPU)", TrainCommand.Run),
        ("launch", "run a command on several ranks (data-parallel training), like torchrun", LaunchCommand.Run),
        ("val", "evaluate weights on a dataset: P, R, mAP@0.5, mAP@0.5:0.95 per class", ValCommand.Run),
        ("detect", "detect objects in images and write them with boxes drawn and text labels", DetectCommand.Run),
        ("export", "convert weights: a YOLOv5 .pt to safetensors (YOLOv5's names, the model config and class names inside)", ExportCommand.Run),
        ("demo", "fit a small Conv-BN-SiLU network to a synthetic target on the CPU (the core's demo)", DemoCommand.Run),
        ("bench", "time YOLOv5 training steps on synthetic data (images/s, step time, memory, phases)", BenchCommand.Run),
        ("data", "data tools: `data synth` writes the synthetic shapes dataset (the main job's default)", DataCommand),
        ("doctor", "what this machine offers: OS, .NET, NVIDIA libraries, GPUs; --check compares every CUDA op with the CPU", DoctorCommand.Run),
    ];

    public static int Main(string[] args)
    {
        Backends.Use(YoloCore.Cpu.CpuBackend.Create, YoloCore.Cuda.CudaBackend.Create);
        // --verbose anywhere: a failure prints its stack trace as well.
        bool verbose = args.Contains("--verbose");
        args = args.Where(a => a != "--verbose").ToArray();
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintUsage();
            return args.Length == 0 ? 2 : 0;
        }
        var cmd = commands.FirstOrDefault(c => c.Name == args[0]);
        if (cmd.Run is null)
        {
            Console.Error.WriteLine($"yolocore: unknown command '{args[0]}'");
            PrintUsage();
            return 2;
        }
        try
        {
            return cmd.Run(args[1..]);
        }
        catch (CliUsageException e)
        {
            Console.Error.WriteLine($"yolocore {cmd.Name}: {e.Message}");
            return 2;
        }
        // Every failure ends with one line that says what is wrong, not a stack trace.
        catch (Exception e)
        {
            Console.Error.WriteLine($"yolocore {cmd.Name}: {Describe(e)}");
            if (verbose) Console.Error.WriteLine(e);
            else if (!IsExpected(e)) Console.Error.WriteLine("(an internal error: run again with --verbose for the stack trace, and please report it)");
            return 1;
        }
    }

    /// Failures of the user's input or environment; their messages name the file or flag.
    static bool IsExpected(Exception e) =>
        e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException or IOException
            or DllNotFoundException or NotSupportedException or OutOfMemoryException or UnauthorizedAccessException
            or YoloCore.Training.NonFiniteLossException or FormatException or TimeoutException;

    static string Describe(Exception e) => IsExpected(e) ? e.Message : $"{e.GetType().Name}: {e.Message}";

    static int DataCommand(string[] args)
    {
        if (args.Length > 0 && args[0] == "synth") return DataSynthCommand.Run(args[1..]);
        Console.Error.WriteLine("usage: yolocore data synth [--out DIR] [--train N] [--val N] [--img PX] [--seed S]   (yolocore data synth --help)");
        return 2;
    }

    static void PrintUsage()
    {
        Console.WriteLine("usage: yolocore COMMAND [options]   (yolocore COMMAND --help for its options)");
        Console.WriteLine();
        foreach (var (name, summary, _) in commands) Console.WriteLine($"  {name,-8} {summary}");
    }
}
