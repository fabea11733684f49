using YoloCore.Data;

namespace YoloCore.Data.Tests;

public class LabelFileTests
{
    [Fact]
    public void GoodLinesParse()
    {
        var p = LabelFile.Parse("0 0.5 0.5 0.2 0.3\n2 0.1 0.2 0.05 0.1\n\n", 3);
        Assert.Null(p.Error);
        Assert.Null(p.Warning);
        Assert.Equal(2, p.Count);
        Assert.Equal([0f, 0.5f, 0.5f, 0.2f, 0.3f, 2f, 0.1f, 0.2f, 0.05f, 0.1f], p.Rows);
    }

    [Theory]
    [InlineData("0 0.5 0.5 0.2", "labels require 5 columns, 4 columns detected")]
    [InlineData("0 0.5 0.5 0.2 0.3 0.1", "labels require 5 columns, 6 columns detected")]
    [InlineData("3 0.5 0.5 0.2 0.3", "class 3 outside [0, 3)")]
    [InlineData("1.5 0.5 0.5 0.2 0.3", "class 1.5 outside [0, 3)")]
    [InlineData("0 1.2 0.5 0.2 0.3", "non-normalized or out of bounds coordinates [1.2]")]
    [InlineData("0 0.5 0.5 -0.2 0.3", "negative label values [-0.2]")]
    [InlineData("0 0.5 abc 0.2 0.3", "'abc' is not a number")]
    public void BadLinesMakeTheFileCorrupt(string text, string reason)
    {
        var p = LabelFile.Parse(text, 3);
        Assert.NotNull(p.Error);
        Assert.Contains(reason, p.Error);
        Assert.Equal(0, p.Count);
    }

    [Fact]
    public void DuplicateRowsAreRemovedWithAWarning()
    {
        var p = LabelFile.Parse("1 0.5 0.5 0.2 0.3\n0 0.1 0.1 0.1 0.1\n1 0.5 0.5 0.2 0.3\n1 0.5 0.5 0.2 0.3\n", 3);
        Assert.Null(p.Error);
        Assert.Equal(2, p.Count);
        Assert.Equal("2 duplicate labels removed", p.Warning);
        Assert.Equal(0f, p.Rows[0]);   // sorted like np.unique
    }

    [Fact]
    public void ZeroSizeBoxesAreDroppedWithAWarning()
    {
        var p = LabelFile.Parse("0 0.5 0.5 0 0.3\n1 0.5 0.5 0.2 0.3\n", 3);
        Assert.Null(p.Error);
        Assert.Equal(1, p.Count);
        Assert.Contains("1 zero-size labels removed", p.Warning);
    }

    [Fact]
    public void PolygonBecomesItsBoundingBox()
    {
        var p = LabelFile.Parse("2 0.1 0.2 0.5 0.2 0.5 0.6 0.1 0.6", 3);
        Assert.Null(p.Error);
        Assert.Equal(new[] { 2f, 0.3f, 0.4f, 0.4f, 0.4f }, p.Rows.Select(v => MathF.Round(v, 5)).ToArray());
    }

    [Fact]
    public void EmptyFileIsABackground()
    {
        var p = LabelFile.Parse("  \n", 3);
        Assert.Null(p.Error);
        Assert.Equal(0, p.Count);
    }
}
