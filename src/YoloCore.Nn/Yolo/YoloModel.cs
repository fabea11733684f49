namespace YoloCore.Nn.Yolo;

/// A YOLOv5 detector built from a model config the way YOLOv5's parse_model builds it, with the
/// same state-dict names ("model.0.conv.weight", ..., "model.24.anchors") and order. Input NHWC
/// [B, H, W, 3] in [0, 1]; H and W must be multiples of the largest stride.
public sealed partial class YoloModel : Module
{
    /// One layer of the config as built: its inputs, module, repeats, the arguments parse_model
    /// passes on (for the summary table) and the stride of its output.
    sealed record Layer(int Index, int[] From, Module Module, string Type, int Repeats, string Arguments, double Stride);

    readonly ModuleList model;
    readonly List<Layer> layers = [];
    readonly HashSet<int> save = [];

    public YoloModel(ModelConfig config, ulong seed = 0, int inputChannels = 3)
    {
        Config = config;
        InputChannels = inputChannels;
        var rng = new Rng(seed);
        model = RegisterModule("model", new ModuleList());
        int nc = config.Nc, na = config.Anchors[0].Length / 2, no = na * (nc + 5);
        var ch = new List<int>();
        var stride = new List<double>();
        for (int i = 0; i < config.Layers.Count; i++)
        {
            var spec = config.Layers[i];
            string where = $"{config.Name} layer {i} ({spec.Module})";
            int Ch(int f) => f == -1 ? (i == 0 ? inputChannels : ch[^1]) : f >= 0 && f < i ? ch[f] : throw new InvalidDataException($"{where}: 'from' {f} does not name an earlier layer");
            double Stride(int f) => f == -1 ? (i == 0 ? 1 : stride[^1]) : stride[f];
            int n = spec.Number > 1 ? Math.Max((int)Math.Round(spec.Number * config.DepthMultiple, MidpointRounding.ToEven), 1) : spec.Number;
            int Scale(int c) => c != no ? MakeDivisible(c * config.WidthMultiple, 8) : c;
            int f0 = spec.From[0];
            Module module;
            int c2;
            string args;
            double s = Stride(f0);
            switch (spec.Module)
            {
                case "Conv":
                {
                    c2 = Scale(Int(spec.Args, 0, where));
                    int k = IntOr(spec.Args, 1, 1, where), st = IntOr(spec.Args, 2, 1, where);
                    int? p = spec.Args.Count > 3 && spec.Args[3] is not null ? Int(spec.Args, 3, where) : null;
                    module = Repeat(n, () => new ConvBnSilu(Ch(f0), c2, k, st, rng, p));
                    args = $"[{Ch(f0)}, {c2}, {k}, {st}" + (p is { } pad ? $", {pad}]" : "]");
                    s *= st;
                    break;
                }
                case "C3":
                    c2 = Scale(Int(spec.Args, 0, where));
                    bool shortcut = spec.Args.Count <= 1 || spec.Args[1] is not false;
                    module = new C3(Ch(f0), c2, n, shortcut, 0.5, rng);
                    args = $"[{Ch(f0)}, {c2}, {n}" + (shortcut ? "]" : ", False]");
                    break;
                case "Bottleneck":
                    c2 = Scale(Int(spec.Args, 0, where));
                    bool sc = spec.Args.Count <= 1 || spec.Args[1] is not false;
                    module = Repeat(n, () => new Bottleneck(Ch(f0), c2, sc, 0.5, rng));
                    args = $"[{Ch(f0)}, {c2}" + (sc ? "]" : ", False]");
                    break;
                case "SPPF":
                    c2 = Scale(Int(spec.Args, 0, where));
                    module = new Sppf(Ch(f0), c2, IntOr(spec.Args, 1, 5, where), rng);
                    args = $"[{Ch(f0)}, {c2}, {IntOr(spec.Args, 1, 5, where)}]";
                    break;
                case "nn.Upsample":
                    c2 = Ch(f0);
                    int scale = IntOr(spec.Args, 1, 2, where);
                    if (spec.Args.Count > 2 && spec.Args[2] is string mode && mode != "nearest")
                        throw new InvalidDataException($"{where}: only nearest upsampling is supported, not '{mode}'");
                    module = new Upsample(scale);
                    args = $"[None, {scale}, 'nearest']";
                    s /= scale;
                    break;
                case "Concat":
                    c2 = spec.From.Sum(Ch);
                    if (spec.From.Select(Stride).Distinct().Count() != 1) throw new InvalidDataException($"{where}: inputs have different strides");
                    module = new Concat();
                    args = "[1]";
                    break;
                case "Detect":
                    c2 = no;
                    if (i != config.Layers.Count - 1) throw new InvalidDataException($"{where}: Detect must be the last layer");
                    if (spec.From.Length != config.Anchors.Length) throw new InvalidDataException($"{where}: {spec.From.Length} inputs but {config.Anchors.Length} anchor levels");
                    var strides = spec.From.Select(Stride).ToArray();
                    module = Detect = new Detect(nc, config.Anchors, spec.From.Select(Ch).ToArray(), strides, rng);
                    args = $"[{nc}, {config.Anchors.Length} levels × {na} anchors, [{string.Join(", ", spec.From.Select(Ch))}]]";
                    break;
                default:
                    throw new InvalidDataException($"{where}: module '{spec.Module}' is not supported (Conv, C3, Bottleneck, SPPF, nn.Upsample, Concat, Detect)");
            }
            foreach (int f in spec.From) if (f != -1) save.Add(f);
            model.Add(module);
            layers.Add(new Layer(i, spec.From, module, spec.Module, n, args, s));
            ch.Add(c2);
            stride.Add(s);
        }
        if (Detect is null) throw new InvalidDataException($"{config.Name}: no Detect layer");
        // A new YOLOv5 model has run one train-mode forward on zeros (to measure strides) with
        // BatchNorm momentum 0.1 before its BatchNorms get eps 1e-3 and momentum 0.03: every
        // activation is zero, so each running variance becomes 0.9·1 + 0.1·0 = 0.9. Match that state.
        foreach (var (name, t) in StateDict())
            if (name.EndsWith("running_var")) t.Backend.Fill(t, 0.9);
    }

    public ModelConfig Config { get; }
    public int InputChannels { get; }
    public Detect Detect { get; } = null!;
    public int Nc => Config.Nc;
    public double MaxStride => Detect.Strides.Max();

    /// YOLOv5's model.fuse() for detect and val: in eval mode every Conv block folds its BatchNorm
    /// into the convolution. Returns how many blocks were fused.
    public int FuseForInference()
    {
        int n = 0;
        foreach (var (_, m) in NamedModules())
            if (m is ConvBnSilu c) { c.FuseForInference = true; n++; }
        return n;
    }

    static int MakeDivisible(double x, int divisor) => (int)Math.Ceiling(x / divisor) * divisor;

    static Module Repeat(int n, Func<Module> make) => n > 1 ? new ModuleList(Enumerable.Range(0, n).Select(_ => make()).ToList()) : make();

    static int Int(IReadOnlyList<object?> args, int i, string where) =>
        i < args.Count && args[i] is int v ? v : throw new InvalidDataException($"{where}: argument {i} must be an integer");

    static int IntOr(IReadOnlyList<object?> args, int i, int fallback, string where) =>
        i < args.Count && args[i] is not null ? Int(args, i, where) : fallback;

    /// The model's input from NHWC uint8 pixels: dtype values in [0, 1], as YOLOv5's im.float() / 255.
    /// Training, validation and detection all normalise here.
    public static Tensor Input(Tensor pixels, DType dtype) => pixels.Cast(dtype) * (1.0 / 255);

    /// Raw Detect outputs per level, [B, na, ny, nx, 5 + nc] (train-mode format; also valid in eval),
    /// or with anchorsLast the head convolutions' own [B, ny, nx, na·(5 + nc)] (Detect.ForwardHeads).
    public Tensor[] ForwardHeads(Tensor images, bool anchorsLast = false)
    {
        if (images.Rank != 4 || images.Shape[3] != InputChannels)
            throw new ArgumentException($"YoloModel expects NHWC images [B, H, W, {InputChannels}], got {images.Shape}");
        int ms = (int)MaxStride;
        if (images.Shape[1] % ms != 0 || images.Shape[2] % ms != 0)
            throw new ArgumentException($"image size {images.Shape[1]}×{images.Shape[2]} must be a multiple of the model's stride {ms}");
        var outputs = new Tensor?[layers.Count];
        Tensor? x = images;
        DeferredActivation? deferred = null; // the last layer's output, where it left its BatchNorm + SiLU to this one
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            Tensor Input(int f) => (f == -1 ? x : outputs[f]) ?? throw new InvalidOperationException($"layer {f} output was not kept");
            if (layer.Module is Detect detect)
            {
                var heads = detect.ForwardHeads(layer.From.Select(Input).ToList(), anchorsLast);
                DisposeOutputs(outputs, x!, images);
                return heads;
            }
            var prev = x;
            if (deferred is not null || DefersOutput(i))
            {
                var module = (IReadsDeferred)layer.Module;
                using var input = deferred ?? DeferredActivation.Of(Input(layer.From[0]));
                if (DefersOutput(i)) (x, deferred) = (null, module.ForwardDeferred(input));
                else (x, deferred) = (module.Forward(input), null);
            }
            else if (ReadsConcatInPlace(i, Input(layer.From[0])))
            {
                // The next layer's convolutions read the inputs where they lie: no concatenation
                // written. The last layer's output now belongs to the parts (unless kept for later).
                bool kept = save.Contains(layer.Index - 1);
                deferred = DeferredActivation.Concat([.. layer.From.Select(f => f == -1 && !kept ? DeferredActivation.Owning(x!) : DeferredActivation.Of(Input(f)))]);
                x = null;
                continue;
            }
            else x = layer.Module is Concat concat ? concat.ForwardMany(layer.From.Select(Input).ToList()) : layer.Module.Forward(Input(layer.From[0]));
            if (prev is not null && !ReferenceEquals(prev, images) && !save.Contains(layer.Index - 1)) prev.Dispose();
            if (save.Contains(layer.Index)) outputs[layer.Index] = x;
        }
        throw new InvalidOperationException("model has no Detect layer");
    }

    /// Whether layer i hands its output to the next layer deferred (DeferredActivation): both read
    /// their input by convolutions alone and end in a Conv block (IReadsDeferred), and the output
    /// goes nowhere else. Whether it is then deferred is the Conv blocks' (ConvBnSilu.DefersActivation).
    bool DefersOutput(int i) =>
        i + 1 < layers.Count && layers[i].Module is IReadsDeferred && !save.Contains(layers[i].Index)
        && layers[i + 1].Module is IReadsDeferred && layers[i + 1].From is [-1];

    /// Whether layer i, a Concat whose output goes to the next layer alone, hands that layer its
    /// inputs side by side (DeferredActivation.Concat) for its convolutions to read in place.
    bool ReadsConcatInPlace(int i, Tensor first) =>
        layers[i].Module is Concat && !save.Contains(layers[i].Index) && i + 1 < layers.Count
        && layers[i + 1].Module is IReadsDeferred reader && layers[i + 1].From is [-1] && reader.ReadsInPlace(first);

    /// Every Conv block's ConvBnSilu.DefersActivation.
    public void DeferActivations(bool? defer)
    {
        foreach (var (_, m) in NamedModules())
            if (m is ConvBnSilu c) c.DefersActivation = defer;
    }

    static void DisposeOutputs(Tensor?[] outputs, Tensor last, Tensor images)
    {
        foreach (var o in outputs) if (o is not null && !ReferenceEquals(o, images)) o.Dispose();
        if (!ReferenceEquals(last, images)) last.Dispose();
    }

    /// Decoded predictions [B, N, 5 + nc] (boxes in pixels, scores after sigmoid), as YOLOv5's
    /// eval-mode forward returns them. Call Eval() first for inference statistics.
    public override Tensor Forward(Tensor images)
    {
        var heads = ForwardHeads(images);
        try { return Detect.Decode(heads); }
        finally { foreach (var h in heads) h.Dispose(); }
    }
}
