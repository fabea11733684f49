using YoloCore.Nn.Yolo;
using YoloCore.Training.Metrics;

namespace YoloCore.Tests;

public class ConfusionMatrixTests
{
    [Fact]
    public void MatchesCountByClassAndTheRestGoToBackground()
    {
        var m = new ConfusionMatrix(3);
        GroundTruthBox[] labels = [new(0, 0, 0, 10, 10), new(1, 20, 20, 30, 30), new(2, 50, 50, 60, 60)];
        Detection[] dets =
        [
            new(0, 0, 10, 10, 0.9, 0),      // label 0, right class
            new(20, 20, 30, 31, 0.8, 2),    // label 1 (IoU 0.91), wrong class
            new(21, 21, 30, 30, 0.7, 1),    // also on label 1 but worse: unmatched → predicted background
            new(80, 80, 90, 90, 0.6, 2),    // nothing there → predicted background
            new(50, 50, 60, 60, 0.2, 2),    // under conf 0.25: ignored, so label 2 is missed
        ];
        m.Add(dets, labels);
        Assert.Equal(1, m.Counts[0, 0]);
        Assert.Equal(1, m.Counts[2, 1]);
        Assert.Equal(1, m.Counts[3, 2]); // true class 2 went to background
        Assert.Equal(1, m.Counts[1, 3]);
        Assert.Equal(1, m.Counts[2, 3]);
        long total = 0;
        foreach (var c in m.Counts) total += c;
        Assert.Equal(5, total);
        Assert.Equal(1.0, m.ColumnNormalised()[0, 0], 6);
    }

    [Fact]
    public void YoloV5CountsNoFalsePositivesInAnImageWithoutMatchesAndSkipsUnlabelledImages()
    {
        var m = new ConfusionMatrix(2);
        m.Add([new Detection(0, 0, 10, 10, 0.9, 1)], [new GroundTruthBox(0, 50, 50, 60, 60)]);
        Assert.Equal(1, m.Counts[2, 0]);  // the label is missed
        Assert.Equal(0, m.Counts[1, 2]);  // the stray detection is not counted (v7.0 behaviour)
        m.Add([new Detection(0, 0, 10, 10, 0.9, 1)], []);
        foreach (var c in new[] { m.Counts[1, 2], m.Counts[0, 2] }) Assert.Equal(0, c);
    }
}
