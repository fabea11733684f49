using YoloCore.Nn.Yolo;
using static YoloCore.Tests.GradientCheckTests;

namespace YoloCore.Tests.Golden;

/// The engine against PyTorch YOLOv5 v7.0 on every golden case, with the golden README's
/// tolerances. Cases are discovered, never named: a new NAME.json + NAME.safetensors pair in the
/// folder is tested without code changes.
public class ConformanceTests
{
    public static IEnumerable<object[]> Cases => GoldenCase.Discover().Select(n => new object[] { n });

    /// PyTorch layouts in the file; 4-D tensors (conv weights) are OIHW there and OHWI here.
    static double[] Expected(GoldenCase c, string key, Shape ourShape)
    {
        var t = c[key];
        if (t.Rank != 4) return t.ToDoubles();
        using var scope = TensorScope.Begin();
        var ohwi = t.Permute(0, 2, 3, 1);
        Assert.Equal(ourShape, ohwi.Shape);
        return ohwi.ToDoubles();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void HeadOutputsMatch(string name)
    {
        var run = GoldenRun.For(name);
        for (int i = 0; i < run.Heads.Length; i++)
        {
            double err = RelativeError(run.Heads[i], run.Case[$"train.p{i}"].ToDoubles());
            Assert.True(err <= 1e-4, $"{name}: head p{i} relative L2 error {err:E2}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossAndItemsMatch(string name)
    {
        var run = GoldenRun.For(name);
        var j = run.Case.Json;
        void Check(string what, double actual, double expected) =>
            Assert.True(Math.Abs(actual - expected) <= 1e-5 * Math.Abs(expected), $"{name}: {what} {actual:G9}, PyTorch {expected:G9}");
        Check("loss", run.LossValue, j.GetProperty("loss").GetDouble());
        var items = j.GetProperty("loss_items");
        Check("box", run.Loss.Box, items.GetProperty("box").GetDouble());
        Check("obj", run.Loss.Obj, items.GetProperty("obj").GetDouble());
        Check("cls", run.Loss.Cls, items.GetProperty("cls").GetDouble());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryGradientMatches(string name)
    {
        var run = GoldenRun.For(name);
        var keys = run.Case.Tensors.Keys.Where(k => k.StartsWith("grad.")).ToList();
        Assert.Equal(run.Grads.Count, keys.Count);
        var worst = new List<string>();
        foreach (var key in keys)
        {
            string p = key["grad.".Length..];
            Assert.True(run.Grads.ContainsKey(p), $"{name}: golden has a gradient for {p}, the model has no such parameter");
            double err = RelativeError(run.Grads[p], Expected(run.Case, key, run.Case[key].Rank == 4 ? new Shape(PermutedShape(run.Case[key].Shape)) : run.Case[key].Shape));
            if (err > 1e-3) worst.Add($"{p}: {err:E2}");
        }
        Assert.True(worst.Count == 0, $"{name}: gradients beyond 1e-3 relative L2: {string.Join(", ", worst.Take(10))}");
    }

    static int[] PermutedShape(Shape oihw) => [oihw[0], oihw[2], oihw[3], oihw[1]];

    [Theory]
    [MemberData(nameof(Cases))]
    public void RunningStatisticsAfterForwardMatch(string name)
    {
        var run = GoldenRun.For(name);
        var keys = run.Case.Tensors.Keys.Where(k => k.StartsWith("after_forward.")).ToList();
        Assert.Equal(run.RunningStats.Count, keys.Count);
        foreach (var key in keys)
        {
            // The README suggests 1e-5. Running variances meet it. A running mean after one step is
            // 0.03 × a batch mean that is close to zero next to the channel's spread, so its relative
            // error is ill-conditioned: PyTorch itself in float32 (torch 1.13, this CPU, our
            // benchmarks/pytorch model loading init.*) misses 1e-5 on this case, with 1.9e-5 on
            // model.23.m.0.cv2.bn.running_mean and 1.4e-5 on model.21.bn.running_mean. Means get 5e-5.
            double tolerance = key.EndsWith("running_mean") ? 5e-5 : 1e-5;
            double err = RelativeError(run.RunningStats[key["after_forward.".Length..]], run.Case[key].ToDoubles());
            Assert.True(err <= tolerance, $"{name}: {key} relative error {err:E2} (tolerance {tolerance:E0})");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SgdStepMatches(string name)
    {
        var run = GoldenRun.For(name);
        var keys = run.Case.Tensors.Keys.Where(k => k.StartsWith("step1.")).ToList();
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            string p = key["step1.".Length..];
            var expected = Expected(run.Case, key, run.Case[key].Rank == 4 ? new Shape(PermutedShape(run.Case[key].Shape)) : run.Case[key].Shape);
            // Compare the update (new - old), which is what the step computes, not the weights themselves.
            var init = run.Init[p];
            var ours = run.AfterStep[p].Select((v, i) => v - init[i]).ToArray();
            var theirs = expected.Select((v, i) => v - init[i]).ToArray();
            double err = RelativeError(ours, theirs);
            Assert.True(err <= 1e-3, $"{name}: SGD update of {p} relative error {err:E2}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodedPredictionsMatch(string name)
    {
        var run = GoldenRun.For(name);
        double err = RelativeError(run.EvalPred, run.Case["eval.pred"].ToDoubles());
        Assert.True(err <= 1e-4, $"{name}: eval predictions relative L2 error {err:E2}");
    }

    /// NMS alone, on PyTorch's own decoded predictions: exactly the same boxes.
    [Theory]
    [MemberData(nameof(Cases))]
    public void NmsOnPyTorchPredictionsKeepsTheSameBoxes(string name)
    {
        var run = GoldenRun.For(name);
        var (conf, iou, maxDet) = NmsSettings(run.Case);
        var pred = run.Case["eval.pred"];
        var ours = Nms.Run(pred, conf, iou, maxDet);
        for (int b = 0; b < ours.Length; b++)
        {
            var theirs = Boxes(run.Case, b);
            Assert.Equal(theirs.Count, ours[b].Count);
            var unmatched = Unmatched(theirs, ours[b], allowNearTies: false, iou);
            Assert.True(unmatched.Count == 0, $"{name}: image {b}: PyTorch box {unmatched.FirstOrDefault()} has no match");
        }
    }

    /// The whole float32 path: our predictions, then NMS. Same count per image and the same boxes,
    /// except that two overlapping boxes of one class whose scores differ by less than float32
    /// noise may be swapped (whichever sorts first suppresses the other).
    [Theory]
    [MemberData(nameof(Cases))]
    public void NmsOnOurPredictionsKeepsTheSameBoxes(string name)
    {
        var run = GoldenRun.For(name);
        var (_, iou, _) = NmsSettings(run.Case);
        var counts = run.Case.Json.GetProperty("nms").GetProperty("counts").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        for (int b = 0; b < run.Nms.Length; b++)
        {
            var theirs = Boxes(run.Case, b);
            Assert.Equal(counts[b], theirs.Count);
            Assert.Equal(counts[b], run.Nms[b].Count);
            var unmatched = Unmatched(theirs, run.Nms[b], allowNearTies: true, iou);
            Assert.True(unmatched.Count == 0, $"{name}: image {b}: PyTorch box {unmatched.FirstOrDefault()} has no match");
        }
    }

    static (double Conf, double Iou, int MaxDet) NmsSettings(GoldenCase c)
    {
        var n = c.Json.GetProperty("nms");
        return (n.GetProperty("conf_thres").GetDouble(), n.GetProperty("iou_thres").GetDouble(), n.GetProperty("max_det").GetInt32());
    }

    static List<Detection> Boxes(GoldenCase c, int image)
    {
        var v = c[$"eval.nms{image}"].ToDoubles();
        return Enumerable.Range(0, v.Length / 6).Select(k => new Detection(v[k * 6], v[k * 6 + 1], v[k * 6 + 2], v[k * 6 + 3], v[k * 6 + 4], (int)v[k * 6 + 5])).ToList();
    }

    /// PyTorch's boxes that have no distinct counterpart among ours.
    static List<Detection> Unmatched(List<Detection> theirs, List<Detection> ours, bool allowNearTies, double iouThres)
    {
        var used = new bool[ours.Count];
        var left = new List<Detection>();
        foreach (var t in theirs)
        {
            int k = Enumerable.Range(0, ours.Count).FirstOrDefault(i => !used[i] && Close(ours[i], t), -1);
            if (k < 0 && allowNearTies)
                k = Enumerable.Range(0, ours.Count).FirstOrDefault(i => !used[i] && ours[i].Class == t.Class
                    && Math.Abs(ours[i].Score - t.Score) <= 1e-4 * t.Score && Nms.Iou(ours[i], t) > iouThres, -1);
            if (k < 0) left.Add(t);
            else used[k] = true;
        }
        return left;
    }

    /// Within 1e-3 relative: corners relative to the box's scale (a corner is a difference of
    /// centre and half-size, so its own magnitude can be near zero), score relative, class exact.
    static bool Close(Detection d, Detection t)
    {
        double scale = Math.Max(1, new[] { t.X1, t.Y1, t.X2, t.Y2 }.Max(Math.Abs));
        return Math.Abs(d.X1 - t.X1) <= 1e-3 * scale && Math.Abs(d.Y1 - t.Y1) <= 1e-3 * scale
            && Math.Abs(d.X2 - t.X2) <= 1e-3 * scale && Math.Abs(d.Y2 - t.Y2) <= 1e-3 * scale
            && Math.Abs(d.Score - t.Score) <= 1e-3 * Math.Abs(t.Score) && d.Class == t.Class;
    }
}
