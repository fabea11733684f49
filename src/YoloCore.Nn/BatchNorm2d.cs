namespace YoloCore.Nn;

/// BatchNorm over the channels of NHWC activations. YOLOv5 uses eps 1e-3 and momentum 0.03.
public sealed class BatchNorm2d : Module
{
    public BatchNorm2d(int channels, double eps = 1e-5, double momentum = 0.1)
    {
        Eps = eps;
        Momentum = momentum;
        Weight = RegisterParameter("weight", Tensor.Ones(new Shape(channels)));
        Bias = RegisterParameter("bias", Tensor.Zeros(new Shape(channels)));
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(new Shape(channels)));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones(new Shape(channels)));
    }

    public Tensor Weight { get; }
    public Tensor Bias { get; }
    public Tensor RunningMean { get; }
    public Tensor RunningVar { get; }
    public double Eps { get; set; }
    public double Momentum { get; set; }

    /// Set for data-parallel training with --sync-bn: training statistics then span every rank.
    public ICommunicator? Sync { get; set; }

    public override Tensor Forward(Tensor x) => Training && Sync is { WorldSize: > 1 } comm
        ? x.SyncBatchNorm2d(Weight, Bias, RunningMean, RunningVar, Momentum, Eps, comm)
        : x.BatchNorm2d(Weight, Bias, RunningMean, RunningVar, Training, Momentum, Eps);
}
