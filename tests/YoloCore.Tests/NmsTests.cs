using YoloCore.Nn.Yolo;

namespace YoloCore.Tests;

public class NmsTests
{
    // Two overlapping boxes (IoU 0.82) of different classes, and a third far away; rows are
    // (x, y, w, h, obj, class 0, class 1), no = 7.
    static readonly float[] Pred =
    [
        50, 50, 40, 40, 0.9f, 1.0f, 0.1f,
        52, 51, 40, 40, 0.8f, 0.1f, 1.0f,
        200, 200, 30, 30, 0.7f, 0.2f, 0.9f,
    ];

    [Fact]
    public void ClassAwareKeepsOverlapsOfDifferentClassesAgnosticDoesNot()
    {
        Assert.Equal(3, Nms.Run(Pred, 7).Count);
        var agnostic = Nms.Run(Pred, 7, agnostic: true);
        Assert.Equal([0, 1], agnostic.Select(d => d.Class));
        Assert.Equal(0.9, agnostic[0].Score, 6);
    }

    [Fact]
    public void TheClassFilterActsBeforeSuppression()
    {
        // Filtering class 0 away first leaves the class-1 box it would have suppressed.
        var onlyOne = Nms.Run(Pred, 7, agnostic: true, classes: new HashSet<int> { 1 });
        Assert.Equal(2, onlyOne.Count);
        Assert.All(onlyOne, d => Assert.Equal(1, d.Class));
        Assert.Equal(0.8, onlyOne[0].Score, 6);
        Assert.Empty(Nms.Run(Pred, 7, classes: new HashSet<int> { 5 }));
    }
}
