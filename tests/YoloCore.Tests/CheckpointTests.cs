using YoloCore.Data;
using YoloCore.Nn.IO;
using YoloCore.Training;

namespace YoloCore.Tests;

/// Checkpoints as one unit: a kill at any moment of saving resumes to exactly the weights of an
/// uninterrupted run, or is refused with a message; never a silent mix of epochs.
public class CheckpointTests() : TinyRuns("ckpt", workers: 1)
{
    public override void Dispose()
    {
        FaultInjection.CrashAt = -1;
        FaultInjection.Boundaries = null;
        base.Dispose();
    }

    sealed class SimulatedKill : Exception;

    sealed class StopAfterEpoch(int epoch, CancellationTokenSource cts, Action<EpochResult>? then = null) : SilentReporter
    {
        public override void EpochDone(EpochResult result, string resultsCsv)
        {
            then?.Invoke(result);
            if (result.Epoch == epoch) cts.Cancel();
        }
    }

    static byte[][] Outputs(string runDir) =>
        new[] { "weights/last.safetensors", "weights/last.state.safetensors", "weights/best.safetensors", "results.csv" }
            .Select(f => File.ReadAllBytes(Path.Combine(runDir, f))).ToArray();

    [Fact]
    public void AKillAtAnyPointOfSavingResumesToTheUninterruptedWeightsOrIsRefused()
    {
        const int epochs = 3;
        FaultInjection.Boundaries = [];
        FaultInjection.Spent = 0;
        var straight = new Trainer(new SilentReporter()).Run(Tiny("straight", epochs));
        long total = FaultInjection.Spent;
        var boundaries = FaultInjection.Boundaries.Distinct().ToList();
        FaultInjection.Boundaries = null;
        var expected = Outputs(straight.SaveDir);
        Assert.True(boundaries.Count >= 3 * 7, $"expected ≥ 7 write boundaries per epoch, saw {boundaries.Count}");

        // Every boundary between two writes, then 50 random moments (nearly all inside a file).
        var rng = new Random(17);
        var points = boundaries.Concat(Enumerable.Range(0, 50).Select(_ => rng.NextInt64(total))).ToList();
        int resumed = 0, refused = 0;
        FaultInjection.Crash = () => throw new SimulatedKill();
        try
        {
            for (int k = 0; k < points.Count; k++)
            {
                string name = $"kill{k:D4}"; // as long as "straight": the manifests (which hold the options) are as long
                FaultInjection.Spent = 0;
                FaultInjection.CrashAt = points[k];
                Assert.Throws<SimulatedKill>(() => new Trainer(new SilentReporter()).Run(Tiny(name, epochs)));
                FaultInjection.CrashAt = -1;
                string run = Path.Combine(root, "runs", name);
                try
                {
                    new Trainer(new SilentReporter()).Run(Tiny("ignored", epochs), resumeFrom: run);
                    resumed++;
                }
                catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
                {
                    // Refusals allowed: no checkpoint was complete yet, or the last epoch was.
                    Assert.True(e.Message.Contains("no checkpoint") || e.Message.Contains("no weights/last.json") || e.Message.Contains("nothing to resume"),
                        $"kill at {points[k]} of {total}: refused with '{e.Message}'");
                    refused++;
                    if (!e.Message.Contains("nothing to resume")) continue;
                }
                var got = Outputs(run);
                string[] names = ["last.safetensors", "last.state.safetensors", "best.safetensors", "results.csv"];
                for (int f = 0; f < names.Length; f++)
                    Assert.True(expected[f].AsSpan().SequenceEqual(got[f]), $"kill at {points[k]} of {total}: {names[f]} differs from the uninterrupted run's");
                Directory.Delete(run, recursive: true);
            }
        }
        finally { FaultInjection.Crash = () => Environment.Exit(137); }
        Assert.True(resumed > points.Count / 2, $"only {resumed} of {points.Count} kills resumed ({refused} refused)");
    }

    [Fact]
    public void AMixedSetOfFilesIsRefusedWithTheFilesAndTheirEpochs()
    {
        string early = Path.Combine(root, "epoch0.state.safetensors");
        using var cts = new CancellationTokenSource();
        var reporter = new StopAfterEpoch(1, cts, r =>
        {
            if (r.Epoch == 0) File.Copy(Path.Combine(root, "runs", "mixed", "weights", "last.state.safetensors"), early);
        });
        var run = new Trainer(reporter).Run(Tiny("mixed", 3), cancel: cts.Token);
        Assert.Equal(2, run.EpochsRun);
        File.Copy(early, Path.Combine(run.SaveDir, "weights", "last.state.safetensors"), overwrite: true);
        var e = Assert.Throws<InvalidDataException>(() => new Trainer(new SilentReporter()).Run(Tiny("x", 3), resumeFrom: run.SaveDir));
        Assert.Contains("last.json (epoch 1)", e.Message);
        Assert.Contains("last.state.safetensors (epoch 0)", e.Message);
    }

    [Fact]
    public void ResumeTakesTheRunFolderLastJsonOrLastSafetensorsAndRefusesOtherFiles()
    {
        using var cts = new CancellationTokenSource();
        var run = new Trainer(new StopAfterEpoch(0, cts)).Run(Tiny("where", 2), cancel: cts.Token);
        string weights = Path.Combine(run.SaveDir, "weights");
        foreach (var given in new[] { run.SaveDir, weights, Path.Combine(weights, "last.json"), Path.Combine(weights, "last.safetensors") })
        {
            var c = Checkpoint.OpenForResume(given);
            Assert.Equal(0, c.State.Epoch);
            Assert.Equal(Path.GetFullPath(run.SaveDir), c.RunDir);
        }
        string other = Path.Combine(root, "notes.txt");
        File.WriteAllText(other, "hello");
        Assert.Contains("expected a run folder, last.json or last.safetensors", Assert.Throws<InvalidDataException>(() => Checkpoint.OpenForResume(other)).Message);
        Assert.Contains("not a training state", Assert.Throws<InvalidDataException>(() => Checkpoint.OpenForResume(Path.Combine(weights, "best.json"))).Message);

        // A last.json cut short or emptied (by hand: a kill cannot do it) is refused by name.
        string json = Path.Combine(weights, "last.json");
        var text = File.ReadAllText(json);
        foreach (var broken in new[] { text[..(text.Length / 2)], "" })
        {
            File.WriteAllText(json, broken);
            var e = Assert.Throws<InvalidDataException>(() => new Trainer(new SilentReporter()).Run(Tiny("x", 2), resumeFrom: run.SaveDir));
            Assert.Contains("last.json is not a checkpoint: empty, cut short or not JSON", e.Message);
        }
    }

    [Fact]
    public void AFinishedRunHasNothingToResume()
    {
        var run = new Trainer(new SilentReporter()).Run(Tiny("done", 1));
        var e = Assert.Throws<InvalidDataException>(() => new Trainer(new SilentReporter()).Run(Tiny("x", 1), resumeFrom: run.SaveDir));
        Assert.Contains("finished training to 1 epochs: nothing to resume", e.Message);
    }

    [Fact]
    public void ResumeSaysWhichEpochItContinuesFromOnce()
    {
        using var cts = new CancellationTokenSource();
        var run = new Trainer(new StopAfterEpoch(0, cts)).Run(Tiny("says", 3), cancel: cts.Token);
        var lines = new List<string>();
        new Trainer(new Collect(lines)).Run(Tiny("x", 3), resumeFrom: run.SaveDir);
        Assert.Single(lines, l => l.StartsWith("Resuming training from"));
        Assert.Contains(lines, l => l.EndsWith("from epoch 2 to 3 total epochs"));
    }

    sealed class Collect(List<string> lines) : SilentReporter
    {
        public override void Info(string line) => lines.Add(line);
    }

    [Fact]
    public void ResultsRowsWrittenAfterTheCheckpointAreDroppedOnResume()
    {
        string csv = Path.Combine(root, "results.csv");
        var row = (int e) => new EpochResult(e, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, [0.01, 0.02, 0.03]);
        ResultsCsv.Append(csv, row(0));
        ResultsCsv.Append(csv, row(1));
        ResultsCsv.Append(csv, row(2));
        File.AppendAllText(csv, "                   3,  0.1,"); // a row cut short by a kill
        Assert.Equal(2, ResultsCsv.KeepUpTo(csv, 1));
        Assert.Equal([0, 1], ResultsCsv.Read(csv).Select(r => r.Epoch));
        Assert.Equal(0, ResultsCsv.KeepUpTo(csv, 1));
    }
}
