using YoloCore.Autograd;

namespace YoloCore.Nn.Yolo;

/// YOLOv5's Detect head: one 1×1 convolution (with bias) per level producing na·(5 + nc) channels,
/// reshaped to [B, na, ny, nx, 5 + nc] as PyTorch's view(bs, na, no, ny, nx).permute(0, 1, 3, 4, 2)
/// does. The "anchors" buffer is in grid units (pixels / stride), as in YOLOv5's state dict.
public sealed class Detect : Module
{
    readonly ModuleList m;

    public Detect(int nc, double[][] anchorsPixels, int[] inputChannels, double[] strides, Rng rng)
    {
        Nc = nc;
        Nl = anchorsPixels.Length;
        Na = anchorsPixels[0].Length / 2;
        Strides = strides;
        var grid = new double[Nl * Na * 2];
        for (int l = 0; l < Nl; l++)
            for (int k = 0; k < Na * 2; k++) grid[l * Na * 2 + k] = anchorsPixels[l][k] / strides[l];
        Anchors = RegisterBuffer("anchors", Tensor.FromDoubles(grid, new Shape(Nl, Na, 2)));
        m = RegisterModule("m", new ModuleList(inputChannels.Select(c => (Module)new Conv2d(c, No * Na, 1, 1, 0, bias: true, rng)).ToList()));
        InitializeBiases();
    }

    public int Nc { get; }
    public int Nl { get; }
    public int Na { get; }
    public int No => Nc + 5;
    public double[] Strides { get; }
    public Tensor Anchors { get; }

    /// YOLOv5's _initialize_biases: objectness prior of 8 objects per 640² image, class prior 0.6/nc.
    void InitializeBiases()
    {
        for (int l = 0; l < Nl; l++)
        {
            var bias = ((Conv2d)m[l]).Bias!;
            var b = bias.ToDoubles();
            for (int a = 0; a < Na; a++)
            {
                b[a * No + 4] += Math.Log(8 / Math.Pow(640 / Strides[l], 2));
                for (int c = 0; c < Nc; c++) b[a * No + 5 + c] += Math.Log(0.6 / (Nc - 0.99999));
            }
            using var scope = TensorScope.Begin();
            bias.Backend.Copy(Tensor.FromDoubles(b, bias.Shape), bias);
        }
    }

    public override Tensor Forward(Tensor x) => throw new InvalidOperationException("Detect takes one input per level: call ForwardHeads");

    /// Raw head outputs [B, na, ny, nx, 5 + nc] per level, before any sigmoid; with anchorsLast,
    /// the convolutions' outputs as they are, [B, ny, nx, na·(5 + nc)] (the loss takes either, its
    /// rows numbered to match: YoloLoss.Prepare), which saves a permute forward and back.
    public Tensor[] ForwardHeads(IReadOnlyList<Tensor> features, bool anchorsLast = false)
    {
        if (features.Count != Nl) throw new ArgumentException($"Detect expects {Nl} feature maps, got {features.Count}");
        var heads = new Tensor[Nl];
        for (int l = 0; l < Nl; l++)
        {
            var f = features[l];
            int bs = f.Shape[0], ny = f.Shape[1], nx = f.Shape[2];
            var conv = m[l].Forward(f);
            if (anchorsLast)
            {
                heads[l] = conv;
                continue;
            }
            using (conv)
            using (var split = conv.Reshape(bs, ny, nx, Na, No))
                heads[l] = split.Permute(0, 3, 1, 2, 4);
        }
        return heads;
    }

    /// Eval-mode decoding as YOLOv5 does it: sigmoid everything, then
    /// xy = (2σ - 0.5 + cell)·stride and wh = (2σ)²·anchor·stride; rows ordered level, anchor, y, x.
    /// Returns [B, Σ na·ny·nx, 5 + nc] with boxes in input pixels (centre x, centre y, w, h).
    public Tensor Decode(IReadOnlyList<Tensor> heads)
    {
        using var _ = GradMode.NoGrad();
        var anchors = Anchors.ToDoubles();
        var levels = new Tensor[Nl];
        for (int l = 0; l < Nl; l++)
        {
            var h = heads[l];
            int bs = h.Shape[0], ny = h.Shape[2], nx = h.Shape[3];
            double stride = Strides[l];
            var cells = new double[ny * nx * 2];
            for (int y = 0; y < ny; y++)
                for (int x = 0; x < nx; x++) { cells[(y * nx + x) * 2] = x - 0.5; cells[(y * nx + x) * 2 + 1] = y - 0.5; }
            var anchorPixels = new double[Na * 2];
            for (int k = 0; k < Na * 2; k++) anchorPixels[k] = anchors[l * Na * 2 + k] * stride;
            using var grid = Tensor.FromDoubles(cells, new Shape(1, 1, ny, nx, 2), h.DType, h.Device);
            using var anchorGrid = Tensor.FromDoubles(anchorPixels, new Shape(1, Na, 1, 1, 2), h.DType, h.Device);
            using var s = h.Sigmoid();
            var parts = s.Split(-1, 2, 2, No - 4);
            using var xy = (parts[0] * 2.0 + grid) * stride;
            using var wh = (parts[1] * 2.0).Square() * anchorGrid;
            using var cat = Ops.Concat([xy, wh, parts[2]], -1);
            foreach (var p in parts) p.Dispose();
            levels[l] = cat.Reshape(bs, Na * ny * nx, No);
        }
        var pred = Ops.Concat(levels, 1);
        foreach (var t in levels) t.Dispose();
        return pred;
    }
}
