using System.Diagnostics;

namespace YoloCore.Tests;

/// The command-line program as a real process, as users run it.
static class CliProcess
{
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, Dictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(YoloCore.Cli.Program).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var k in new[] { "RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT" }) psi.Environment.Remove(k);
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        return psi;
    }

    /// Runs it to the end; returns its exit code and everything it printed.
    public static (int Code, string Output, TimeSpan Took) Run(IEnumerable<string> args, Dictionary<string, string>? env = null, int timeoutSeconds = 240)
    {
        var psi = StartInfo(args, env);
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"yolocore {string.Join(' ', args)} ran over {timeoutSeconds} s"); }
        return (p.ExitCode, stdout.Result + stderr.Result, clock.Elapsed);
    }
}
