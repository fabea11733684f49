using System.CommandLine;
using System.Diagnostics;

namespace YoloCore.Cli.Commands;

/// `yolocore launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]
/// -- train ...`: starts N ranks of a yolocore command on this machine with torchrun's variables
/// (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and waits. If a rank
/// fails, the others get --ddp-timeout plus a grace period to notice and end with their own
/// message; then they are stopped, and launch exits with the failed rank's code.
public sealed class LaunchCommand
{
    readonly Option<int> nprocOption = Opt.Int("nproc-per-node", "ranks to start on this machine (one GPU each)", 1);
    readonly Option<int> nnodesOption = Opt.Int("nnodes", "machines taking part", 1);
    readonly Option<int> nodeRankOption = Opt.Int("node-rank", "this machine's index among them", 0);
    readonly Option<string> addrOption = Opt.Text("master-addr", "address of rank 0's machine", "127.0.0.1");
    readonly Option<int> portOption = Opt.Int("master-port", "rank 0's rendezvous port", 29500);
    readonly Option<int> graceOption = Opt.Int("grace", "seconds the other ranks get to stop after one fails", 30);
    readonly Argument<string[]> commandArgument = new("command") { Description = "the yolocore command each rank runs, after --", Arity = ArgumentArity.ZeroOrMore };

    public static Command Create()
    {
        var l = new LaunchCommand();
        var c = new Command("launch", "run a command on several ranks (data-parallel training), like torchrun: " +
            "yolocore launch --nproc-per-node 2 -- train --data coco128.yaml --batch-size 16 --sync-bn. " +
            "Each rank gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; --batch-size is the total over all ranks.")
        {
            l.nprocOption, l.nnodesOption, l.nodeRankOption, l.addrOption, l.portOption, l.graceOption, l.commandArgument,
        };
        c.SetAction(l.Run);
        return c;
    }

    int Run(ParseResult r)
    {
        var command = r.GetValue(commandArgument) ?? [];
        if (command.Length == 0) throw new CliUsageException("no command to launch: yolocore launch --nproc-per-node N -- train ...");
        int nproc = r.GetValue(nprocOption), nnodes = r.GetValue(nnodesOption), nodeRank = r.GetValue(nodeRankOption);
        string addr = r.GetValue(addrOption)!;
        int port = r.GetValue(portOption), grace = r.GetValue(graceOption);
        if (nproc < 1 || nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes)
            throw new CliUsageException($"--nproc-per-node and --nnodes must be ≥ 1 and --node-rank in [0, {nnodes})");

        var (exe, prefix) = SelfCommand();
        var ranks = new List<(int Rank, Process Process)>();
        for (int local = 0; local < nproc; local++)
        {
            int rank = nodeRank * nproc + local;
            var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
            foreach (var a in prefix.Concat(command)) psi.ArgumentList.Add(a);
            psi.Environment["RANK"] = rank.ToString();
            psi.Environment["LOCAL_RANK"] = local.ToString();
            psi.Environment["WORLD_SIZE"] = (nproc * nnodes).ToString();
            psi.Environment["LOCAL_WORLD_SIZE"] = nproc.ToString();
            psi.Environment["MASTER_ADDR"] = addr;
            psi.Environment["MASTER_PORT"] = port.ToString();
            ranks.Add((rank, Process.Start(psi) ?? throw new IOException($"could not start rank {rank}")));
        }

        int exitCode = 0;
        DateTime? failedAt = null;
        var running = ranks.ToList();
        while (running.Count > 0)
        {
            // Ranks that ended since the last look, earliest first: when a dead rank takes the
            // others down within one poll, the first to end is the cause worth naming.
            foreach (var (rank, p) in running.Where(r => r.Process.HasExited).OrderBy(r => r.Process.ExitTime).ToList())
            {
                running.Remove((rank, p));
                if (p.ExitCode == 0) continue;
                string what = $"yolocore launch: rank {rank} exited with code {p.ExitCode}{(p.ExitCode == 137 ? " (killed)" : "")}";
                if (exitCode != 0) { Console.Error.WriteLine(what); continue; }
                exitCode = p.ExitCode;
                failedAt = DateTime.UtcNow;
                Console.Error.WriteLine($"{what}; waiting up to {grace} s for the other ranks to stop");
            }
            if (failedAt is { } t && DateTime.UtcNow - t > TimeSpan.FromSeconds(grace))
            {
                foreach (var (rank, p) in running)
                {
                    Console.Error.WriteLine($"yolocore launch: stopping rank {rank}");
                    try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                }
                break;
            }
            Thread.Sleep(100);
        }
        return exitCode;
    }

    /// How to start this same program again: `dotnet YoloCore.Cli.dll` or the apphost.
    static (string Exe, string[] Prefix) SelfCommand()
    {
        string process = Environment.ProcessPath ?? "dotnet";
        string dll = typeof(LaunchCommand).Assembly.Location;
        return Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? (process, [dll]) : (process, []);
    }
}
