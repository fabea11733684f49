namespace YoloCore.Training;

public enum OptimizerKind { SGD, Adam, AdamW }

/// The settings of a training run, named after YOLOv5's train.py flags.
public sealed record TrainOptions
{
    /// Dataset YAML; null trains on the synthetic shapes dataset (generated under the run folder).
    public string? Data { get; init; }
    /// yolov5n/s/m/l/x or a model YAML; null: the model --weights describes (as train.py builds
    /// Model(cfg or ckpt['model'].yaml)), else yolov5n.
    public string? Cfg { get; init; }
    /// Initial weights (a YOLOv5 .pt, or safetensors with YOLOv5 state-dict names): entries of
    /// matching name and shape are loaded (train.py's transfer).
    public string? Weights { get; init; }
    public string? Hyp { get; init; }
    public int Epochs { get; init; } = 100;
    public int BatchSize { get; init; } = 16;
    public int ImageSize { get; init; } = 640;
    public string Device { get; init; } = "cpu";
    public int Workers { get; init; } = 2;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.SGD;
    public bool CosLr { get; init; }
    public string Project { get; init; } = Path.Combine("runs", "train");
    public string Name { get; init; } = "exp";
    public bool ExistOk { get; init; }
    public int Seed { get; init; }
    public int Patience { get; init; } = 100;
    public bool NoAmp { get; init; }
    /// Capture the training step once as a CUDA graph and replay it (TrainStep.UseGraphs);
    /// opt-in until a GPU has checked it.
    public bool Graph { get; init; }
    public bool NoVal { get; init; }
    /// Layers whose parameters stay fixed (YOLOv5's --freeze: "10" freezes layers 0-9, the backbone;
    /// several numbers freeze exactly those layers).
    public int[] Freeze { get; init; } = [];
    /// Keep decoded, resized images in memory after their first load (YOLOv5's --cache ram).
    public bool CacheImages { get; init; }
    /// Train as one class, "item" (YOLOv5's --single-cls).
    public bool SingleClass { get; init; }
    /// Data parallel: BatchNorm statistics over every rank's images (YOLOv5's --sync-bn).
    public bool SyncBn { get; init; }
    /// Data parallel: seconds a rank waits for a peer before giving up with the peer's rank named.
    public int DdpTimeout { get; init; } = 300;
    /// Stop after this many training iterations (0: no limit): smoke runs and comparisons.
    public int MaxSteps { get; init; }
    /// When set, rank 0 writes the raw model after every optimizer step here (stepNNNN.safetensors),
    /// for comparing runs step by step.
    public string? DumpSteps { get; init; }
    /// Synthetic dataset size when Data is null.
    public int SynthTrain { get; init; } = 400;
    public int SynthVal { get; init; } = 100;
}
