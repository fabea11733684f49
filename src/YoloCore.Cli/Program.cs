using System.CommandLine;
using YoloCore.Cli.Commands;

namespace YoloCore.Cli;

/// `yolocore COMMAND [options]`: each command lives in Commands/ with its options, parsed by
/// System.CommandLine (generated --help per command); any failure ends in one line.
public static class Program
{
    static RootCommand Root()
    {
        var root = new RootCommand("YoloCore: YOLOv5 training, validation and detection on our own engine (yolocore COMMAND --help for a command's options)")
        {
            HelpName = "yolocore",
        };
        foreach (var command in new[]
                 {
                     TrainCommand.Create(), LaunchCommand.Create(), ValCommand.Create(), DetectCommand.Create(), ExportCommand.Create(),
                     DemoCommand.Create(), BenchCommand.Create(), DataSynthCommand.Create(), DoctorCommand.Create(),
                 })
            root.Add(command);
        return root;
    }

    public static int Main(string[] args)
    {
        Backends.Use(YoloCore.Cpu.CpuBackend.Create, YoloCore.Cuda.CudaBackend.Create);
        YoloCore.Diagnostics.OpCatalog.Add(YoloCore.Nn.Yolo.YoloLossOp.Catalog, YoloCore.Nn.Yolo.YoloLossOp.Wide); // doctor --check covers the loss op too
        // --verbose anywhere: a failure prints its stack trace as well.
        bool verbose = args.Contains("--verbose");
        args = args.Where(a => a != "--verbose").ToArray();
        var root = Root();
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke();
            return 2;
        }
        var parsed = root.Parse(args);
        var command = parsed.CommandResult.Command;
        string prefix = command == root ? "yolocore" : "yolocore " + string.Join(' ', CommandPath(parsed));
        if (parsed.Errors.Count > 0)
        {
            if (command == root && !args[0].StartsWith('-'))
            {
                var names = root.Subcommands.Select(c => c.Name).ToList();
                var close = names.Where(n => n.StartsWith(args[0][..1], StringComparison.Ordinal) && Math.Abs(n.Length - args[0].Length) <= 2).ToList();
                Console.Error.WriteLine($"yolocore: unknown command '{args[0]}'{(close.Count > 0 ? $" (did you mean {string.Join(" or ", close)}?)" : "")}; commands: {string.Join(", ", names)}");
                return 2;
            }
            Console.Error.WriteLine($"{prefix}: {Opt.Describe(parsed.Errors[0], command)}");
            return 2;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (CliUsageException e)
        {
            Console.Error.WriteLine($"{prefix}: {e.Message}");
            return 2;
        }
        // Every failure ends with one line that says what is wrong, not a stack trace.
        catch (Exception e)
        {
            Console.Error.WriteLine($"{prefix}: {Describe(e)}");
            if (verbose) Console.Error.WriteLine(e);
            else if (!IsExpected(e)) Console.Error.WriteLine("(an internal error: run again with --verbose for the stack trace, and please report it)");
            return 1;
        }
    }

    static IEnumerable<string> CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var c = parsed.CommandResult; c is not null && c.Command is not RootCommand; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, c.Command.Name);
        return names;
    }

    /// Failures of the user's input or environment; their messages name the file or flag.
    static bool IsExpected(Exception e) =>
        e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException or IOException
            or DllNotFoundException or NotSupportedException or OutOfMemoryException or UnauthorizedAccessException
            or YoloCore.Training.NonFiniteLossException or FormatException or TimeoutException;

    static string Describe(Exception e) => IsExpected(e) ? e.Message : $"{e.GetType().Name}: {e.Message}";
}
