using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using YoloCore.Data;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// How a training run ended.
public sealed record TrainResult(string SaveDir, int EpochsRun, double BestFitness, EpochResult? Last, ValidationResult? Final);

/// YOLOv5 v7.0's train.py: SGD (nesterov) or Adam/AdamW over three parameter groups, nominal batch
/// 64 by gradient accumulation, warmup then a linear (or cosine) schedule, EMA weights evaluated
/// every epoch, best/last checkpoints, results.csv, early stopping, and exact --resume.
public sealed class Trainer(ITrainingReporter reporter)
{
    readonly ITrainingReporter caller = reporter;
    /// Where this run reports: the caller's reporter, or nothing on ranks other than 0.
    ITrainingReporter log = reporter;
    static readonly JsonSerializerOptions json = new() { Converters = { new JsonStringEnumConverter() } };

    /// cancel: checked after each epoch's checkpoint is written, so a cancelled run stops where
    /// --resume can continue it exactly (the command line cancels on Ctrl+C).
    public TrainResult Run(TrainOptions options, string? resumeFrom = null, CancellationToken cancel = default)
    {
        // ==== Options: a resumed run continues with the options it started with ====================
        var resume = resumeFrom is null ? null : Checkpoint.OpenForResume(resumeFrom);
        if (resume is not null) options = ResumedOptions(resume);
        Validate(ref options);

        // ==== Device and ranks: data parallel under `yolocore launch` or torchrun, a GPU per rank ===
        var env = YoloCore.Distributed.DistributedEnv.FromEnvironment();
        var device = env.DeviceFor(YoloCore.Device.Parse(options.Device));
        int world = env.WorldSize, rankBatch = env.RankBatch(options.BatchSize);
        // A missing GPU library fails here, before anything is written, naming where it looked.
        IBackend backend;
        try { backend = Backends.For(device); }
        catch (DllNotFoundException e) { throw new DllNotFoundException($"--device {options.Device}: {e.Message}", e); }
        using var group = env.IsDistributed ? YoloCore.Distributed.ProcessGroup.Join(env, device, TimeSpan.FromSeconds(options.DdpTimeout)) : null;
        bool main = group?.IsMain ?? true;
        log = main ? caller : new SilentReporter();
        if (resume is not null)
        {
            if (resume.Repair is not null) log.Warning($"{resume.ManifestPath}: {resume.Repair}");
            log.Info($"Resuming training from {resume.ManifestPath} from epoch {resume.State.Epoch + 2} to {options.Epochs} total epochs");
        }
        if (group is not null) log.Info($"data parallel: {world} ranks, {options.BatchSize / world} images per rank, {(device.IsCpu ? "TCP" : "NCCL")} communicator{(options.SyncBn ? ", SyncBatchNorm" : "")}");

        // ==== Run folder and hyperparameters ==========================================================
        string? resumeDir = resume?.RunDir;
        string saveDir = resumeDir ?? (main ? RunDirectory.Create(RunDirectory.Next(options.Project, options.Name, options.ExistOk), "weights") : "");
        if (group is not null) saveDir = group.Share("run/dir", saveDir);
        string weights = Path.Combine(saveDir, "weights"), resultsCsv = Path.Combine(saveDir, "results.csv");
        var hyp = options.Hyp is null ? new Hyperparameters() : Hyperparameters.Load(options.Hyp);
        if (resume is null && main) hyp.Save(Path.Combine(saveDir, "hyp.yaml"));
        log.Info("hyperparameters: " + string.Join(", ", hyp.Values.Select(kv => $"{kv.Key}={kv.Value:G4}")));

        // ==== Dataset config ============================================================================
        string dataYaml = options.Data ?? (main ? SyntheticData(saveDir, options) : "");
        if (group is not null && options.Data is null) dataYaml = group.Share("run/data", dataYaml);
        var data = DatasetConfig.Load(dataYaml);
        bool single = options.SingleClass;
        int nc = single ? 1 : data.ClassCount, img = options.ImageSize, batch = options.BatchSize;
        IReadOnlyList<string> names = single && data.Names.Count != 1 ? ["item"] : data.Names;

        // ==== Model, EMA, optimizer, loss and step (train.py: Model, Freeze, Optimizer, EMA) ===========
        // Model(cfg or ckpt['model'].yaml); anchors transferred only when the config came from the weights.
        using var pretrained = options.Weights is not null && resume is null ? WeightsFile.Read(options.Weights, emaFirst: false) : null;
        bool cfgGiven = options.Cfg is not null;
        var config = ModelConfigFor(ref options, pretrained, saveDir, main);
        bool amp = !device.IsCpu && !options.NoAmp;
        var freeze = options.Freeze;
        bool syncBn = options.SyncBn;
        using var setup = new TrainingSetup(config, nc, img, batch, hyp, options.Optimizer, device, amp, (ulong)options.Seed, group, model =>
        {
            if (pretrained is not null) LoadPretrained(model, pretrained, excludeAnchors: cfgGiven);
            if (syncBn && group is not null)
                foreach (var (_, m) in model.NamedModules())
                    if (m is YoloCore.Nn.BatchNorm2d bn) bn.Sync = group.Comm;
            FreezeLayers(model, freeze);
        });
        var (model, emaModel, optimizer, scaler, step) = (setup.Model, setup.EmaModel, setup.Optimizer, setup.Scaler, setup.Step);
        step.UseGraphs = options.Graph;
        if (resume is null && main) // the options as resolved (the model config chosen)
            File.WriteAllText(Path.Combine(saveDir, "opt.json"), JsonSerializer.Serialize(options, new JsonSerializerOptions(json) { WriteIndented = true }));
        log.Info(model.Summary());
        log.Info($"{config.Name}: {model.ParameterCount():N0} parameters, {nc} classes, device {device}");
        var groups = optimizer.Groups;
        log.Info($"optimizer: {options.Optimizer}(lr={hyp["lr0"]}) with parameter groups {groups[2].Parameters.Count} weight(decay=0.0), " +
            $"{groups[1].Parameters.Count} weight(decay={setup.WeightDecay:G4}), {groups[0].Parameters.Count} bias");
        var schedule = new LrSchedule(options.Epochs, hyp["lr0"], hyp["lrf"], hyp["momentum"], options.CosLr, hyp["warmup_epochs"], hyp["warmup_momentum"], hyp["warmup_bias_lr"]);

        // ==== Resume ========================================================================================
        var progress = new Progress();
        if (resume is not null)
        {
            var st = resume.State;
            Checkpoint.LoadTrainingState(resume, model, emaModel, optimizer.StateBuffer);
            progress.StartEpoch = st.Epoch + 1;
            progress.BestFitness = st.BestFitness;
            setup.Ema.Updates = st.EmaUpdates;
            optimizer.Steps = st.OptimizerSteps;
            progress.LastOptStep = st.LastOptStep;
            (scaler.Scale, scaler.CleanSteps, scaler.Skipped) = (st.Scale, st.CleanSteps, st.Skipped);
            // Rows written after the checkpoint (a kill between the two) belong to an epoch that runs again.
            if (main && ResultsCsv.KeepUpTo(resultsCsv, st.Epoch) is > 0 and int dropped)
                log.Info($"{resultsCsv}: dropped {dropped} row{(dropped > 1 ? "s" : "")} written after the checkpoint of epoch {st.Epoch}");
            var history = ResultsCsv.Read(resultsCsv).Where(r => r.Epoch < progress.StartEpoch).ToList();
            progress.BestEpoch = history.Count > 0 ? history.MaxBy(r => r.Fitness)!.Epoch : 0;
        }

        // ==== Dataloaders (train.py's create_dataloader, for train and val) =================================
        bool cache = options.CacheImages;
        using var trainSet = YoloDataset.Open(data, DatasetSplit.Train, DatasetOptions.Training(img, hyp.Augment) with { CacheImages = cache, SingleClass = single });
        using var valSet = YoloDataset.Open(data, DatasetSplit.Val, DatasetOptions.Validation(img, batch * 2) with { CacheImages = cache, SingleClass = single });
        Report("train", trainSet.Summary);
        Report("val", valSet.Summary);
        // As YOLOv5: a training set without a single label cannot train (every loss would be zero).
        if (trainSet.Summary.Labelled == 0)
            throw new InvalidDataException($"train: no labels found in {trainSet.Summary.LabelsFolder}: cannot start training " +
                "(each image needs a .txt of the same name in the labels/ folder beside its images/ folder)");
        if (valSet.Summary.Labelled == 0) log.Warning($"val: no labels found in {valSet.Summary.LabelsFolder}: metrics cannot be computed without labels");
        if (resumeDir is null && main)
            log.TrainingLabels(trainSet.Images.SelectMany(r => Enumerable.Range(0, r.LabelCount)
                .Select(k => ((int)r.Labels[5 * k], r.Labels[5 * k + 1], r.Labels[5 * k + 2], r.Labels[5 * k + 3], r.Labels[5 * k + 4]))).ToList(),
                names, saveDir);
        if (cache) log.Info($"caching images in RAM as they are first loaded (at most {(trainSet.Count + valSet.Count) * 3.0 * img * img / 1e9:F1} GB)");
        // On a GPU, batches are assembled in pinned memory and uploaded one batch ahead (UploadAsync).
        using var pinned = device.IsCpu ? null : new PinnedBatchStaging(backend);
        var trainLoader = new DataLoader(trainSet, new LoaderOptions
        {
            BatchSize = rankBatch, Workers = options.Workers, Seed = (ulong)options.Seed, Staging = pinned, Rank = env.Rank, WorldSize = world,
        });
        var valLoader = new DataLoader(valSet, new LoaderOptions { BatchSize = batch * 2, Workers = options.Workers, Shuffle = false });
        var valLoss = new YoloLoss(emaModel.Detect, hyp.Loss(model.Detect.Nl, nc, img));
        log.Info($"image sizes {img} train, {img} val; {options.Workers} dataloader workers; logging results to {saveDir}; " +
            $"starting training for {options.Epochs} epochs...");

        // ==== Train: an epoch of steps, then (rank 0) validate, log, checkpoint, decide to stop ============
        var loop = new EpochLoop(options, setup, schedule, trainLoader, pinned, backend, device, names, saveDir, env.Rank, main);
        var metadata = WeightsMetadata.Create(options.Cfg!, names);
        var optionsNode = JsonSerializer.SerializeToNode(options, json)!.AsObject();
        var reportedFailures = new HashSet<string>();
        EpochResult? last = null;
        int epoch = progress.StartEpoch;
        var trainClock = Stopwatch.StartNew();
        for (; epoch < options.Epochs; epoch++)
        {
            var (box, obj, cls, limitReached) = loop.Train(epoch, progress, log);
            ReportLoadFailures(trainSet, reportedFailures);
            var lr = optimizer.Groups.Select(g => g.Lr).ToArray();
            bool stop = limitReached;
            if (main)
            {
                // Rank 0 alone validates, logs and writes checkpoints, as in YOLOv5.
                ValidationResult? val = null;
                if (!options.NoVal || epoch + 1 == options.Epochs || limitReached)
                {
                    val = Validator.Run(emaModel, valLoader, device, setup.ComputeType, valLoss, progress: log.ValidationProgress);
                    log.ValidationDone(val, names, perClass: false);
                }
                var m = val?.Metrics;
                last = new EpochResult(epoch, box, obj, cls, m?.MeanPrecision ?? 0, m?.MeanRecall ?? 0, m?.Map50 ?? 0, m?.Map ?? 0,
                    val?.Box ?? 0, val?.Obj ?? 0, val?.Cls ?? 0, lr);
                ResultsCsv.Append(resultsCsv, last);
                // As YOLOv5: best is saved (and early stopping's clock reset) when fitness ties or improves.
                bool improved = last.Fitness >= progress.BestFitness;
                if (improved) (progress.BestFitness, progress.BestEpoch) = (last.Fitness, epoch);
                var state = new Checkpoint.State(epoch, progress.BestFitness, setup.Ema.Updates, optimizer.Steps, progress.LastOptStep,
                    scaler.Scale, scaler.CleanSteps, scaler.Skipped, optionsNode);
                // best before last: a kill between the two resumes from the previous last and
                // writes this best again, so best never lags an epoch that last has.
                if (improved) Checkpoint.Save(weights, "best", model, emaModel, optimizer, state, full: false, metadata);
                Checkpoint.Save(weights, "last", model, emaModel, optimizer, state, full: true, metadata);
                log.EpochDone(last, resultsCsv);
                if (cancel.IsCancellationRequested)
                {
                    log.Info($"Stopped after epoch {epoch} on request; continue with --resume {saveDir}");
                    stop = true;
                }
                else if (epoch - progress.BestEpoch >= options.Patience)
                {
                    log.Info($"Stopping training early as no improvement observed in last {options.Patience} epochs. " +
                        $"Best results observed at epoch {progress.BestEpoch}, best model saved as best.safetensors.");
                    stop = true;
                }
            }
            if (group is not null)
            {
                // Rank 0's decision to stop reaches every rank.
                using var flag = Tensor.Full(new Shape(1), stop ? 1 : 0, DType.Float32, device);
                group.Comm.Broadcast(flag);
                stop = flag.Item() != 0;
            }
            if (stop)
            {
                epoch++;
                break;
            }
        }
        if (scaler.Skipped > 0) log.Warning($"the loss scaler skipped {scaler.Skipped} optimizer steps on float16 overflow");
        if (main) log.Info($"{epoch - progress.StartEpoch} epochs completed in {trainClock.Elapsed.TotalHours:F3} hours.");

        // ==== Final validation of best, with the plots ====================================================
        ValidationResult? finalVal = null;
        string best = Path.Combine(weights, "best.safetensors");
        if (main && File.Exists(best) && epoch > progress.StartEpoch && !options.NoVal)
        {
            StateDictIO.Load(emaModel, best);
            log.Info($"Validating {best}...");
            finalVal = Validator.Run(emaModel, valLoader, device, setup.ComputeType, progress: log.ValidationProgress,
                onBatch: (b, d) => { if (b.Index < 3) log.ValidationBatchSample(b.Index, b, d, names, saveDir); });
            log.ValidationDone(finalVal, names, perClass: true);
            log.ValidationPlots(finalVal, names, saveDir);
        }
        group?.Store.Barrier("finished", world); // rank 0 serves the store: it leaves last
        if (main) log.Info($"Results saved to {saveDir}");
        return new TrainResult(saveDir, epoch - progress.StartEpoch, progress.BestFitness, last, finalVal);
    }

    /// What the epochs carry from one to the next (and what resume restores).
    sealed class Progress
    {
        public int StartEpoch, LastOptStep = -1, BestEpoch, TotalSteps;
        public double BestFitness;
    }

    /// One epoch of training steps: warmup (learning rates, momentum, accumulation) per
    /// iteration as train.py, the next batch uploaded while this one runs, progress reported.
    sealed class EpochLoop(TrainOptions options, TrainingSetup setup, LrSchedule schedule, DataLoader loader, PinnedBatchStaging? pinned,
        IBackend backend, YoloCore.Device device, IReadOnlyList<string> names, string saveDir, int rank, bool main)
    {
        readonly int nb = loader.BatchCount, nw = schedule.WarmupIterations(loader.BatchCount);

        /// Mean box, obj and cls losses over the epoch, and whether --max-steps ended it.
        public (double Box, double Obj, double Cls, bool LimitReached) Train(int epoch, Progress progress, ITrainingReporter log)
        {
            var optimizer = setup.Optimizer;
            setup.Model.Train();
            log.EpochStarted(epoch, options.Epochs);
            double box = 0, obj = 0, cls = 0;
            var clock = Stopwatch.StartNew();
            int i = 0, done = 0, images = 0;
            // Each step's losses are read after the next step is queued, so the host does not wait
            // for the device between steps; the bar runs one step behind until the epoch's end.
            (PendingStep Step, int Targets)? pending = null;
            void Account()
            {
                if (pending is not { } p) return;
                pending = null;
                var r = p.Step.Read();
                box = (box * done + r.Box) / (done + 1);
                obj = (obj * done + r.Obj) / (done + 1);
                cls = (cls * done + r.Cls) / (done + 1);
                done++;
                double rate = done / clock.Elapsed.TotalSeconds;
                log.BatchDone(new BatchProgress(epoch, options.Epochs, done, nb, box, obj, cls, p.Targets, options.ImageSize,
                    PeakGiB(device), rate, (nb - done) / rate));
            }
            using var batches = loader.Epoch(epoch).GetEnumerator();
            var current = Upload(batches, pinned, device);
            while (current is { } c)
            {
                // Queue the next batch's copy before this step's work, so the two overlap on the GPU.
                var next = Upload(batches, pinned, device);
                using (c.Batch)
                using (c.Images)
                {
                    backend.DeviceWait(c.Fence);
                    var b = c.Batch;
                    int ni = i + nb * epoch;
                    if (ni < 3) log.TrainBatchSample(ni, b, names, saveDir);
                    int accumulate = LrSchedule.Accumulate(ni, nw, TrainingSetup.NominalBatch, options.BatchSize);
                    for (int j = 0; j < optimizer.Groups.Count; j++)
                    {
                        optimizer.Groups[j].Lr = schedule.GroupLr(j, ni, epoch, nw);
                        if (options.Optimizer == OptimizerKind.SGD) optimizer.Groups[j].Momentum = schedule.GroupMomentum(ni, nw);
                    }
                    bool optimizerStep = ni - progress.LastOptStep >= accumulate;
                    FaultInjection.MaybeExit(rank, progress.TotalSteps);
                    var step = setup.Step.Run(c.Images, Array.ConvertAll(b.Targets, v => (double)v), optimizerStep);
                    Account();
                    pending = (step, b.TargetCount);
                    if (optimizerStep) progress.LastOptStep = ni;
                    progress.TotalSteps++;
                    if (optimizerStep && main && options.DumpSteps is not null)
                        StateDictIO.Save(setup.Model, Path.Combine(options.DumpSteps, $"step{progress.TotalSteps:D4}.safetensors"));
                    images += b.Size;
                    i++;
                }
                current = next;
                if (options.MaxSteps > 0 && progress.TotalSteps >= options.MaxSteps)
                {
                    next?.Images.Dispose();
                    next?.Batch.Dispose();
                    Account();
                    ReportPace(log, images, clock.Elapsed.TotalSeconds);
                    return (box, obj, cls, true);
                }
            }
            Account();
            ReportPace(log, images, clock.Elapsed.TotalSeconds);
            return (box, obj, cls, false);
        }

        /// Which of the two limits training: the loader's images/s (its workers' rate) against the
        /// steps' (images over the time not spent waiting for a batch).
        void ReportPace(ITrainingReporter log, int images, double seconds)
        {
            var stats = loader.Stats;
            double stepSeconds = seconds - stats.WaitSeconds;
            if (!main || images == 0 || stepSeconds <= 0) return;
            bool loaderLimits = stats.WaitSeconds > 0.1 * seconds;
            log.Info($"      loader {stats.ImagesPerSecond:F1} images/s ({stats.Workers} workers), steps {images / stepSeconds:F1} images/s; " +
                $"waited {stats.WaitSeconds:F1} s of {seconds:F1} s for data: the {(loaderLimits ? "loader" : "steps")} set the pace");
        }
    }

    /// The options a resumed run continues with: the checkpoint's own. A finished run has nothing
    /// to resume (YOLOv5 refuses it too).
    static TrainOptions ResumedOptions(Checkpoint.Resumable resume)
    {
        TrainOptions? options;
        try { options = resume.State.Options.Deserialize<TrainOptions>(json); }
        catch (JsonException e) { throw new InvalidDataException($"{resume.ManifestPath}: its options cannot be read ({e.Message})"); }
        if (options is null) throw new InvalidDataException($"{resume.ManifestPath} has no options");
        if (resume.State.Epoch + 1 >= options.Epochs)
            throw new InvalidDataException($"{resume.RunDir} finished training to {options.Epochs} epochs: nothing to resume " +
                $"(train again with --weights {Path.Combine(resume.WeightsDir, "last.safetensors")} to continue from its weights)");
        return options;
    }

    /// The next batch and its images on the device: an asynchronous upload from pinned memory on a
    /// GPU, a plain copy on the CPU (fence 0, nothing to wait for).
    static (Batch Batch, Tensor Images, long Fence)? Upload(IEnumerator<Batch> batches, PinnedBatchStaging? pinned, YoloCore.Device device)
    {
        if (!batches.MoveNext()) return null;
        var b = batches.Current;
        if (pinned is not null)
        {
            var (images, fence) = pinned.Upload(b);
            return (b, images, fence);
        }
        return (b, TensorScope.Escape(b.ImagesTensor(device)), 0);
    }

    /// A split's scan line, then a WARNING per skipped or repaired file, as YOLOv5 prints them.
    void Report(string split, DatasetSummary summary)
    {
        log.Info($"{split}: {summary.Line}");
        foreach (var w in summary.WarningLines()) log.Warning($"{split}: {w}");
    }

    /// Images that passed the scan but could not be read later train as grey backgrounds: each is
    /// said once, when the epoch that met it ends.
    void ReportLoadFailures(YoloDataset set, HashSet<string> reported)
    {
        foreach (var (file, reason) in set.LoadFailures)
            if (reported.Add(file)) log.Warning($"train: {file} could not be read any more ({reason}): trained as a grey background");
    }

    /// The checks YOLOv5 makes before anything is written: sizes, counts, paths.
    void Validate(ref TrainOptions o)
    {
        if (o.BatchSize < 1) throw new ArgumentException($"--batch-size must be at least 1, got {o.BatchSize}");
        if (o.Epochs < 1) throw new ArgumentException($"--epochs must be at least 1, got {o.Epochs}");
        if (o.ImageSize < 32) throw new ArgumentException($"--img must be at least 32, got {o.ImageSize}");
        if (o.ImageSize % 32 != 0)
        {
            int fixedSize = (o.ImageSize + 31) / 32 * 32;
            log.Warning($"--img-size {o.ImageSize} must be multiple of max stride 32, updating to {fixedSize}");
            o = o with { ImageSize = fixedSize };
        }
        if (o.Data is not null && !File.Exists(o.Data)) throw new FileNotFoundException($"dataset YAML not found: {Path.GetFullPath(o.Data)}", o.Data);
        if (o.Weights is not null && !File.Exists(o.Weights)) throw new FileNotFoundException($"weights not found: {Path.GetFullPath(o.Weights)}", o.Weights);
        if (o.Workers < 0) throw new ArgumentException($"--workers must be 0 or more, got {o.Workers}");
    }

    /// YOLOv5's --freeze: parameters of the named layers ("model.N.") get no gradient, so no
    /// optimizer step, no reduction across ranks and no change; their BatchNorm statistics still
    /// update in train mode, as in YOLOv5.
    void FreezeLayers(YoloModel model, int[] freeze)
    {
        if (freeze.Length == 0) return;
        var layers = freeze.Length > 1 ? freeze : Enumerable.Range(0, freeze[0]).ToArray();
        var prefixes = layers.Select(l => $"model.{l}.").ToArray();
        int frozen = 0;
        foreach (var (name, p) in model.NamedParameters())
            if (prefixes.Any(name.StartsWith)) { p.RequiresGrad = false; frozen++; }
        if (model.Parameters().All(p => !p.RequiresGrad))
            throw new ArgumentException($"--freeze {string.Join(",", freeze)} freezes every layer: nothing is left to train");
        log.Info($"freezing layers {string.Join(",", layers)}: {frozen} parameter tensors");
    }

    string SyntheticData(string saveDir, TrainOptions o)
    {
        string dir = Path.Combine(saveDir, "synthetic");
        string yaml = Path.Combine(dir, "data.yaml");
        if (File.Exists(yaml)) return yaml;
        log.Info($"no --data given: generating the synthetic shapes dataset ({o.SynthTrain} train + {o.SynthVal} val images, {o.ImageSize} px) in {dir}");
        return SyntheticDataset.Generate(dir, o.SynthTrain, o.SynthVal, o.ImageSize, o.Seed);
    }

    /// The model config: --cfg, else the one the --weights file describes (written to the run
    /// folder so that --resume and the saved weights name it), else yolov5n. options.Cfg is set to
    /// what was chosen, so opt.json and checkpoints record it.
    ModelConfig ModelConfigFor(ref TrainOptions options, WeightsFile? pretrained, string saveDir, bool main)
    {
        if (options.Cfg is not null) return ModelConfig.Load(options.Cfg);
        var fromWeights = pretrained is null ? null : WeightsMetadata.ConfigOf(pretrained);
        if (fromWeights is null)
        {
            options = options with { Cfg = "yolov5n" };
            return ModelConfig.Load("yolov5n");
        }
        if (ModelConfig.Embedded.Contains(pretrained!.ConfigName) && pretrained.ConfigYaml is null)
        {
            options = options with { Cfg = pretrained.ConfigName };
            return fromWeights;
        }
        string path = Path.Combine(saveDir, (pretrained.ConfigName ?? "model") + ".yaml");
        if (main) File.WriteAllText(path, pretrained.ConfigYaml);
        options = options with { Cfg = path };
        log.Info($"model config from {pretrained.Path} ({fromWeights.Name}), saved as {path}");
        return fromWeights;
    }

    /// train.py's transfer: every entry of the file whose name and shape match the model
    /// (intersect_dicts), anchors left out when --cfg was given, so weights trained for another
    /// class count still seed the backbone. Counted as train.py counts: over PyTorch's state dict,
    /// whose BatchNorms also hold num_batches_tracked.
    void LoadPretrained(YoloModel model, WeightsFile file, bool excludeAnchors)
    {
        using var scope = TensorScope.Begin();
        var entries = file.ByName();
        int matched = 0, total = 0;
        foreach (var (name, t) in model.StateDict())
        {
            total++;
            if (name.EndsWith(".running_var"))
            {
                total++; // num_batches_tracked beside it in PyTorch's state dict
                if (entries.ContainsKey(name[..^"running_var".Length] + "num_batches_tracked")) matched++;
            }
            if (excludeAnchors && name.Contains("anchor")) continue;
            if (!entries.TryGetValue(name, out var src)) continue;
            var v = StateDictIO.FromPyTorch(src);
            if (v.Shape != t.Shape) continue;
            if (v.Device != t.Device) v = v.To(t.Device); // files load on the CPU; the model may be on a GPU
            t.Backend.Copy(v.DType == t.DType ? v : v.Cast(t.DType), t);
            matched++;
        }
        log.Info($"Transferred {matched}/{total} items from {file.Path}");
    }

    static double PeakGiB(YoloCore.Device device) => MemoryStats.PeakBytes(device) / (1024.0 * 1024 * 1024);
}
