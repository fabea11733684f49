using YoloCore.Nn.Yolo;

namespace YoloCore.Tests;

public class YoloModelTests
{
    /// Parameters and GFLOPs at 640 px as YOLOv5's README table gives them.
    [Theory]
    [InlineData("yolov5n", 1_872_157, 4.5)]
    [InlineData("yolov5s", 7_235_389, 16.5)]
    [InlineData("yolov5m", 21_190_557, 49.0)]
    [InlineData("yolov5l", 46_563_709, 109.1)]
    [InlineData("yolov5x", 86_749_405, 205.7)]
    public void BuiltInConfigsHaveYoloV5sSizes(string cfg, long parameters, double gflops)
    {
        using var model = new YoloModel(ModelConfig.Load(cfg));
        Assert.Equal(parameters, model.ParameterCount());
        Assert.Equal(gflops, Math.Round(model.GFlops(), 1));
        string summary = model.Summary();
        Assert.Contains("models.yolo.Detect", summary);
        Assert.EndsWith($"{parameters} parameters, {parameters} gradients, {gflops:F1} GFLOPs", summary);
    }

    [Fact]
    public void StateDictNamesFollowYoloV5()
    {
        using var model = new YoloModel(ModelConfig.Load("yolov5n.yaml"));
        var names = model.StateDict().Select(e => e.Name).ToList();
        Assert.Equal("model.0.conv.weight", names[0]);
        Assert.Equal(["model.0.bn.weight", "model.0.bn.bias", "model.0.bn.running_mean", "model.0.bn.running_var"], names.Skip(1).Take(4));
        Assert.Contains("model.2.m.0.cv2.conv.weight", names);
        Assert.Contains("model.9.cv2.bn.running_var", names);
        Assert.Equal(["model.24.anchors", "model.24.m.0.weight", "model.24.m.0.bias"], names.SkipWhile(n => n != "model.24.anchors").Take(3));
        Assert.Equal(new Shape(16, 6, 6, 3), model.StateDict().First().Tensor.Shape); // OHWI
        Assert.Equal([8.0, 16, 32], model.Detect.Strides);
    }

    [Fact]
    public void FusingBatchNormIntoConvolutionsKeepsEvalOutputs()
    {
        using var scope = TensorScope.Begin();
        using var model = new YoloModel(ModelConfig.Load("yolov5n").WithClasses(3));
        // Statistics and affine parameters far from their initial values, so folding has work to do.
        var rng = new Rng(7);
        foreach (var (name, t) in model.StateDict())
        {
            if (name.EndsWith("running_mean") || name.EndsWith("bn.bias")) t.Backend.Copy(Tensor.Uniform(t.Shape, rng, -0.5, 0.5), t);
            else if (name.EndsWith("running_var") || name.EndsWith("bn.weight")) t.Backend.Copy(Tensor.Uniform(t.Shape, rng, 0.5, 2), t);
        }
        model.Eval();
        var x = Tensor.Uniform(new Shape(2, 64, 96, 3), rng, 0, 1);
        var plain = model.Forward(x).ToDoubles();
        Assert.Equal(57, model.FuseForInference());
        var fused = model.Forward(x).ToDoubles();
        double err = GradientCheckTests.RelativeError(fused, plain);
        Assert.True(err < 1e-5, $"fused vs plain: {err:E2}");
    }

    [Fact]
    public void UnknownModulesAndBadConfigsGetClearErrors()
    {
        const string yaml = """
            nc: 2
            depth_multiple: 1.0
            width_multiple: 1.0
            anchors:
              - [10,13, 16,30]
            backbone:
              [[-1, 1, Conv, [16, 3, 2]],
               [-1, 1, Focus, [32]]]
            head:
              [[[1], 1, Detect, [nc, anchors]]]
            """;
        var e = Assert.Throws<InvalidDataException>(() => new YoloModel(ModelConfig.Parse(yaml, "bad")));
        Assert.Contains("layer 1 (Focus)", e.Message);
        Assert.Throws<FileNotFoundException>(() => ModelConfig.Load("yolov9q"));
        Assert.Contains("anchors", Assert.Throws<InvalidDataException>(() => ModelConfig.Parse("nc: 1\ndepth_multiple: 1\nwidth_multiple: 1\nanchors: 3\nbackbone: []\nhead: []", "x")).Message);
    }

    [Fact]
    public void HeadsHaveYoloV5sShapes()
    {
        using var scope = TensorScope.Begin();
        using var model = new YoloModel(ModelConfig.Load("yolov5n").WithClasses(3));
        var heads = model.ForwardHeads(Tensor.Zeros(new Shape(2, 64, 96, 3)));
        Assert.Equal(new Shape(2, 3, 8, 12, 8), heads[0].Shape);
        Assert.Equal(new Shape(2, 3, 4, 6, 8), heads[1].Shape);
        Assert.Equal(new Shape(2, 3, 2, 3, 8), heads[2].Shape);
        Assert.Throws<ArgumentException>(() => model.ForwardHeads(Tensor.Zeros(new Shape(1, 60, 64, 3))));
    }
}
