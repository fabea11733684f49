using YoloCore.Data;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// One row of the mixed-precision training check: the loss of both runs at a step.
public readonly record struct ParityStep(int Step, double ReferenceLoss, double DeviceLoss)
{
    public double RelativeDifference => Math.Abs(DeviceLoss - ReferenceLoss) / Math.Max(Math.Abs(ReferenceLoss), 1e-12);
}

/// Trains the same model from the same weights on the same batches twice, on the CPU in float32
/// (the reference) and on a device (in float16 mixed precision unless told otherwise), and records
/// both loss curves. It is how mixed precision is verified end to end: the device's loss curve must
/// stay within a few percent of the reference, and the loss scaler may skip only a few steps.
public static class TrainingParity
{
    public static (List<ParityStep> Steps, int SkippedSteps) Run(string dataYaml, string cfg, int imageSize, int batch, int steps,
        Device device, bool amp, int seed = 0, Action<ParityStep>? progress = null)
    {
        var data = DatasetConfig.Load(dataYaml);
        using var set = YoloDataset.Open(data, DatasetSplit.Train, DatasetOptions.Training(imageSize));
        var loader = new DataLoader(set, new LoaderOptions { BatchSize = batch, Workers = Math.Min(8, Environment.ProcessorCount), Seed = (ulong)seed });
        var hyp = new Hyperparameters();
        using var reference = new ParityRun(cfg, data.ClassCount, imageSize, batch, Device.Cpu, amp: false, seed, hyp);
        using var subject = new ParityRun(cfg, data.ClassCount, imageSize, batch, device, amp, seed, hyp);
        var rows = new List<ParityStep>();
        for (int epoch = 0, step = 0; step < steps; epoch++)
            foreach (var b in loader.Epoch(epoch))
            {
                using (b)
                {
                    var targets = Array.ConvertAll(b.Targets, v => (double)v);
                    double lr = reference.Step(b, targets), ld = subject.Step(b, targets);
                    var row = new ParityStep(step, lr, ld);
                    rows.Add(row);
                    progress?.Invoke(row);
                }
                if (++step >= steps) break;
            }
        return (rows, subject.Scaler.Skipped);
    }

    /// One TrainingSetup (the step `train` runs); both runs start from the same seeded weights and
    /// use a constant learning rate (no warmup), stepping every batch.
    sealed class ParityRun(string cfg, int nc, int imageSize, int batch, Device device, bool amp, int seed, Hyperparameters hyp) : IDisposable
    {
        readonly TrainingSetup setup = new(ModelConfig.Load(cfg), nc, imageSize, batch, hyp, OptimizerKind.SGD, device, amp, (ulong)seed);

        public GradScaler Scaler => setup.Scaler;

        public double Step(Batch b, double[] targets)
        {
            using var images = b.ImagesTensor(device);
            return setup.Step.Run(images, targets, optimizerStep: true).Read().Loss;
        }

        public void Dispose() => setup.Dispose();
    }
}
