namespace YoloCore.Data;

/// Augmentation hyperparameters, named as in YOLOv5's hyp YAMLs; defaults are v7.0's
/// hyp.scratch-low.yaml.
public sealed record AugmentHyp
{
    public double HsvH { get; init; } = 0.015;        // hue gain (fraction)
    public double HsvS { get; init; } = 0.7;          // saturation gain (fraction)
    public double HsvV { get; init; } = 0.4;          // value gain (fraction)
    public double Degrees { get; init; } = 0.0;       // rotation (+/- degrees)
    public double Translate { get; init; } = 0.1;     // translation (+/- fraction)
    public double Scale { get; init; } = 0.5;         // scale (+/- gain)
    public double Shear { get; init; } = 0.0;         // shear (+/- degrees)
    public double Perspective { get; init; } = 0.0;   // perspective (+/- fraction), 0..0.001
    public double FlipUd { get; init; } = 0.0;        // up-down flip probability
    public double FlipLr { get; init; } = 0.5;        // left-right flip probability
    public double Mosaic { get; init; } = 1.0;        // mosaic probability
    public double Mixup { get; init; } = 0.0;         // mixup probability

    public static AugmentHyp ScratchLow { get; } = new();

    /// No augmentation at all (for tests and for inspecting raw samples).
    public static AugmentHyp None { get; } = new()
    {
        HsvH = 0, HsvS = 0, HsvV = 0, Translate = 0, Scale = 0, FlipLr = 0, Mosaic = 0,
    };
}
