using YoloCore.Distributed;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// Everything one YOLOv5 training step needs, built the way train.py builds it, so that `train`,
/// `bench` and the mixed-precision parity check run the same step with the same numbers:
/// the model (and its EMA copy) on the device, the three parameter groups with weight decay scaled
/// by batch × accumulate / 64, SGD (nesterov) or Adam/AdamW, the loss scaler (on with float16),
/// the loss with the hyperparameters scaled for the model, the gradient reducer across ranks, and
/// the step itself.
public sealed class TrainingSetup : IDisposable
{
    /// YOLOv5's nominal batch: gradients accumulate until about 64 images have been seen.
    public const int NominalBatch = 64;

    public YoloModel Model { get; }
    public YoloModel EmaModel { get; }
    public ModelEma Ema { get; }
    public IOptimizer Optimizer { get; }
    public GradScaler Scaler { get; }
    public YoloLoss Loss { get; }
    public DataParallelReducer? Reducer { get; }
    public TrainStep Step { get; }
    /// Batches per optimizer step once warmup is over (round(64 / batch), at least 1).
    public int Accumulate { get; }
    /// The weight decay of the decayed group: hyp weight_decay × batch × accumulate / 64.
    public double WeightDecay { get; }
    public DType ComputeType { get; }

    /// batch: the total over all ranks (weight decay and accumulation follow it, as train.py's).
    /// prepare runs on the new model before anything copies it (pretrained weights, broadcast,
    /// SyncBatchNorm, freezing); the EMA starts from the model as prepare leaves it.
    public TrainingSetup(ModelConfig config, int nc, int imageSize, int batch, Hyperparameters hyp, OptimizerKind optimizer,
        Device device, bool amp, ulong seed, ProcessGroup? group = null, Action<YoloModel>? prepare = null)
    {
        Model = new YoloModel(config.WithClasses(nc), seed);
        EmaModel = new YoloModel(config.WithClasses(nc), seed);
        try
        {
            Model.To(device);
            EmaModel.To(device);
            prepare?.Invoke(Model);
            // Every rank starts from rank 0's weights and statistics.
            if (group is not null) DataParallelReducer.BroadcastFromRankZero(Model.StateDict().Select(e => e.Tensor), group.Comm);
            Ema = new ModelEma(EmaModel, Model);
            ComputeType = amp ? DType.Float16 : DType.Float32;
            Accumulate = Math.Max((int)Math.Round((double)NominalBatch / batch, MidpointRounding.ToEven), 1);
            WeightDecay = hyp["weight_decay"] * batch * Accumulate / NominalBatch;
            var groups = YoloParamGroups.Create(Model, hyp["lr0"], hyp["momentum"], WeightDecay, nesterov: true);
            Optimizer = optimizer == OptimizerKind.SGD ? new Sgd(groups) : new Adam(groups, decoupled: optimizer == OptimizerKind.AdamW);
            Scaler = new GradScaler(amp, device);
            Loss = new YoloLoss(Model.Detect, hyp.Loss(Model.Detect.Nl, nc, imageSize)) { Distributed = group?.Comm };
            int world = group?.Comm.WorldSize ?? 1;
            Reducer = group is null ? null : new DataParallelReducer(Model.Parameters().Where(p => p.RequiresGrad).ToList(), group.Comm);
            Step = new TrainStep(Model, Loss, Optimizer, Ema, Scaler, ComputeType, reducer: Reducer, worldSize: world);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Step?.Dispose();
        Scaler?.Dispose();
        Reducer?.Dispose();
        Optimizer?.Dispose();
        Ema?.Dispose();
        EmaModel.Dispose();
        Model.Dispose();
    }
}
