using System.Diagnostics;
using YoloCore.Nn.IO;
using YoloCore.Tests.Golden;

namespace YoloCore.Tests;

/// `yolocore launch` as users run it: real processes, real sockets, on coco128 from ../shared.
public class LaunchTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), $"yolocore-launch-{Guid.NewGuid():N}");
    static string Coco128 => Path.GetFullPath(Path.Combine(GoldenCase.Directory, "..", "datasets", "coco128.yaml"));
    static int port = 29700 + Environment.ProcessId % 200;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    static (int Code, string Output, TimeSpan Took) Yolocore(IEnumerable<string> args, Dictionary<string, string>? env = null, int timeoutSeconds = 240) =>
        CliProcess.Run(args, env, timeoutSeconds);

    string[] Train(string name, string dump) =>
        ["train", "--data", Coco128, "--cfg", "yolov5n", "--img", "128", "--batch-size", "16", "--max-steps", "3", "--dump-steps", dump,
         "--project", Path.Combine(root, "runs"), "--name", name, "--workers", "2", "--noval", "--sync-bn", "--ddp-timeout", "60"];

    static double[] Weights(string file)
    {
        var (list, _) = Safetensors.Load(file);
        try { return list.Where(e => !e.Name.Contains("running") && !e.Name.Contains("anchors")).SelectMany(e => e.Tensor.ToDoubles()).ToArray(); }
        finally { foreach (var (_, t) in list) t.Dispose(); }
    }

    [Fact]
    public void TwoRanksWithBatch8TrainLikeOneProcessWithBatch16()
    {
        string single = Path.Combine(root, "single"), multi = Path.Combine(root, "multi");
        var one = Yolocore(Train("single", single));
        Assert.True(one.Code == 0, one.Output);
        var two = Yolocore(["launch", "--nproc-per-node", "2", "--master-port", (port++).ToString(), "--", .. Train("multi", multi)]);
        Assert.True(two.Code == 0, two.Output);
        Assert.Contains("data parallel: 2 ranks, 8 images per rank", two.Output);
        var steps = Directory.GetFiles(single, "step*.safetensors").Select(Path.GetFileName).OrderBy(f => f).ToList();
        Assert.Equal(3, steps.Count);
        Assert.Equal(steps, Directory.GetFiles(multi, "step*.safetensors").Select(Path.GetFileName).OrderBy(f => f));
        foreach (var step in steps)
        {
            var a = Weights(Path.Combine(single, step!));
            var b = Weights(Path.Combine(multi, step!));
            double err = GradientCheckTests.RelativeError(b, a);
            Assert.True(err <= 1e-5, $"{step}: weights of 2 ranks × 8 differ from 1 × 16 by {err:E2} (relative L2)");
        }
    }

    [Fact]
    public void BenchUnderLaunchRunsTheReducerAndOnlyRankZeroReports()
    {
        var r = Yolocore(["launch", "--nproc-per-node", "2", "--master-port", (port++).ToString(), "--", .. TinyBench]);
        Assert.True(r.Code == 0, r.Output);
        var reports = r.Output.Split('\n').Where(l => l.StartsWith('{')).ToList();
        Assert.Single(reports);
        var json = System.Text.Json.JsonDocument.Parse(reports[0]).RootElement;
        Assert.Equal(2, json.GetProperty("world_size").GetInt32());
        Assert.Equal(4, json.GetProperty("batch").GetInt32());
        Assert.True(json.GetProperty("images_per_s").GetDouble() > 0);

        var odd = Yolocore(["launch", "--nproc-per-node", "2", "--master-port", (port++).ToString(), "--", "bench", "--device", "cpu", "--batch-size", "3"]);
        Assert.NotEqual(0, odd.Code);
        Assert.Contains("must be a multiple of WORLD_SIZE 2", odd.Output);
    }

    /// With --accumulate 4 only the last micro-batch of a window communicates: one all-reduce per
    /// bucket per optimizer step, and the report says how much and how long.
    [Fact]
    public void BenchWithAccumulationReducesOncePerBucketPerOptimizerStep()
    {
        var r = Yolocore(["launch", "--nproc-per-node", "2", "--master-port", (port++).ToString(), "--",
            "bench", "--device", "cpu", "--img", "64", "--batch-size", "4", "--warmup", "4", "--steps", "8", "--accumulate", "4", "--json"]);
        Assert.True(r.Code == 0, r.Output);
        var json = System.Text.Json.JsonDocument.Parse(Assert.Single(r.Output.Split('\n'), l => l.StartsWith('{'))).RootElement;
        int buckets = json.GetProperty("buckets").GetInt32();
        Assert.True(buckets >= 1);
        Assert.Equal(4, json.GetProperty("accumulate").GetInt32());
        Assert.Equal(buckets, json.GetProperty("allreduce_per_optimizer_step").GetDouble());
        // yolov5n with 80 classes: 1,872,157 float32 gradients, 7.14 MiB, reduced once per step.
        Assert.Equal(1872157 * 4 / 1048576.0, json.GetProperty("allreduce_mib_per_step").GetDouble(), 3);
        Assert.True(json.GetProperty("exposed_comm_ms").GetDouble() >= 0);
        // The loss's target counts are averaged across ranks on the device: no step reads back.
        Assert.Equal(0, json.GetProperty("host_reads_per_step").GetDouble());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.GetProperty("launches_per_step").ValueKind); // CPU: no launches
        // The opt-in GPU paths: the CPU always runs the fused Conv + BatchNorm + SiLU, never the implicit GEMM.
        Assert.Equal((false, true), (json.GetProperty("implicit_gemm").GetBoolean(), json.GetProperty("fused_bn_silu").GetBoolean()));
    }

    /// Batch 4 makes the nominal-batch warmup accumulate 2 micro-batches from the fifth iteration:
    /// windows where only the last backward all-reduces. Weights after every optimizer step match.
    /// (8 iterations: at the 10th both this reducer and the one that reduced every micro-batch
    /// drift to 1.9e-5 the same way, float32 noise amplified, not a difference in what is reduced.)
    [Fact]
    public void TwoRanksAccumulatingTrainLikeOneProcessPerOptimizerStep()
    {
        string[] Train4(string name, string dump) =>
            ["train", "--data", Coco128, "--cfg", "yolov5n", "--img", "64", "--batch-size", "4", "--max-steps", "8", "--dump-steps", dump,
             "--project", Path.Combine(root, "runs"), "--name", name, "--workers", "1", "--noval", "--sync-bn", "--ddp-timeout", "60"];
        string single = Path.Combine(root, "acc1"), multi = Path.Combine(root, "acc2");
        var one = Yolocore(Train4("acc1", single));
        Assert.True(one.Code == 0, one.Output);
        var two = Yolocore(["launch", "--nproc-per-node", "2", "--master-port", (port++).ToString(), "--", .. Train4("acc2", multi)]);
        Assert.True(two.Code == 0, two.Output);
        var steps = Directory.GetFiles(single, "step*.safetensors").Select(Path.GetFileName).OrderBy(f => f).ToList();
        Assert.True(steps.Count is > 4 and < 8, $"expected accumulation windows among the 8 iterations, got {steps.Count} optimizer steps");
        Assert.Equal(steps, Directory.GetFiles(multi, "step*.safetensors").Select(Path.GetFileName).OrderBy(f => f));
        foreach (var step in steps)
        {
            double err = GradientCheckTests.RelativeError(Weights(Path.Combine(multi, step!)), Weights(Path.Combine(single, step!)));
            Assert.True(err <= 1e-5, $"{step}: weights of 2 ranks × 2 differ from 1 × 4 by {err:E2} (relative L2)");
        }
    }

    static string[] TinyBench => ["bench", "--device", "cpu", "--img", "64", "--batch-size", "4", "--warmup", "0", "--steps", "1", "--json"];

    static int WorldSizeReported(string output) =>
        System.Text.Json.JsonDocument.Parse(Assert.Single(output.Split('\n'), l => l.StartsWith('{'))).RootElement.GetProperty("world_size").GetInt32();

    [Fact]
    public async Task TwoNodesAndForeignLaunchersJoinTheSameWay()
    {
        // Two "machines" on one: a launcher per node with --nnodes 2 and its own --node-rank.
        string p = (port++).ToString();
        string[] Node(int r) => ["launch", "--nnodes", "2", "--node-rank", r.ToString(), "--nproc-per-node", "1", "--master-addr", "127.0.0.1", "--master-port", p, "--", .. TinyBench];
        var node1 = Task.Run(() => Yolocore(Node(1)));
        var node0 = Yolocore(Node(0));
        var second = await node1;
        Assert.True(node0.Code == 0, node0.Output);
        Assert.True(second.Code == 0, second.Output);
        Assert.Equal(2, WorldSizeReported(node0.Output));
        Assert.DoesNotContain("{", second.Output); // only global rank 0 reports

        // Ranks started by another launcher (torchrun, SLURM): only the variables, no `yolocore launch`.
        p = (port++).ToString();
        Dictionary<string, string> Vars(int r) => new() { ["RANK"] = r.ToString(), ["LOCAL_RANK"] = r.ToString(), ["WORLD_SIZE"] = "2", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = p };
        var rank1 = Task.Run(() => Yolocore(TinyBench, Vars(1)));
        var rank0 = Yolocore(TinyBench, Vars(0));
        var other = await rank1;
        Assert.True(rank0.Code == 0, rank0.Output);
        Assert.True(other.Code == 0, other.Output);
        Assert.Equal(2, WorldSizeReported(rank0.Output));
    }

    [Fact]
    public void WhenARankDiesTheOtherEndsWithItsRankInTheMessage()
    {
        var env = new Dictionary<string, string> { ["YOLOCORE_FAULT_EXIT_RANK"] = "1", ["YOLOCORE_FAULT_AFTER_STEPS"] = "2" };
        var r = Yolocore(["launch", "--nproc-per-node", "2", "--master-port", (port++).ToString(), "--grace", "60", "--",
            "train", "--data", Coco128, "--cfg", "yolov5n", "--img", "128", "--batch-size", "16", "--max-steps", "6", "--project", Path.Combine(root, "runs"),
            "--name", "fault", "--workers", "2", "--noval", "--ddp-timeout", "20"], env);
        Assert.NotEqual(0, r.Code);
        Assert.True(r.Output.Contains("rank 1 exited with code 137"), r.Output);
        Assert.True(r.Output.Contains("yolocore train: communicator: rank 1"), r.Output);
        Assert.True(r.Took < TimeSpan.FromSeconds(90), $"took {r.Took}");
    }

    [Fact]
    public void MismatchedWorldSizesAndAnUnreachableMasterAreReported()
    {
        var r = Yolocore(["train", "--data", Coco128, "--img", "64", "--batch-size", "4", "--max-steps", "1", "--ddp-timeout", "3", "--project", Path.Combine(root, "runs"), "--noval"],
            new() { ["WORLD_SIZE"] = "2", ["RANK"] = "1", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = (port++).ToString() });
        Assert.NotEqual(0, r.Code);
        Assert.Contains("cannot reach the master", r.Output);
        var odd = Yolocore(["train", "--data", Coco128, "--batch-size", "3", "--project", Path.Combine(root, "runs")],
            new() { ["WORLD_SIZE"] = "2", ["RANK"] = "0", ["MASTER_PORT"] = (port++).ToString() });
        Assert.Contains("multiple of WORLD_SIZE", odd.Output);
    }
}
