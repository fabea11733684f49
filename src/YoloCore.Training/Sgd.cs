namespace YoloCore.Training;

/// A group of parameters sharing hyperparameters (YOLOv5 uses three: decayed weights, BatchNorm
/// weights and biases without decay).
public sealed class ParamGroup(IReadOnlyList<Tensor> parameters, double lr, double momentum, double weightDecay, bool nesterov)
{
    public IReadOnlyList<Tensor> Parameters { get; } = parameters;
    public double Lr { get; set; } = lr;
    public double Momentum { get; set; } = momentum;
    public double WeightDecay { get; set; } = weightDecay;
    public bool Nesterov { get; set; } = nesterov;
}

/// Stochastic gradient descent with momentum as torch.optim.SGD computes it (dampening 0, the
/// momentum buffer starts from zero, so the first step's buffer is the gradient).
public sealed class Sgd : IOptimizer
{
    readonly Dictionary<Tensor, Tensor> buffers = new(ReferenceEqualityComparer.Instance);
    // Every group's float64 (lr, momentum, weight decay, nesterov) on the device, [groups, 4],
    // which the kernel reads.
    StagedValues? settings;

    public Sgd(params ParamGroup[] groups) => Groups = groups;

    public IReadOnlyList<ParamGroup> Groups { get; }

    public int Steps { get; set; }

    public bool Capturable => true;

    public void Step(Tensor? gradScale = null, Tensor? skip = null)
    {
        Stage();
        Apply(gradScale, skip);
    }

    public void Stage()
    {
        Steps++;
        var first = Groups.SelectMany(g => g.Parameters).FirstOrDefault();
        if (first is null) return;
        settings ??= new StagedValues(first.Device, [(new Shape(Groups.Count, 4), DType.Float64)]);
        var s = settings.Host<double>(0);
        for (int i = 0; i < Groups.Count; i++)
        {
            var g = Groups[i];
            (s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]) = (g.Lr, g.Momentum, g.WeightDecay, g.Nesterov ? 1 : 0);
        }
        settings.Upload();
    }

    /// Updates every parameter that has a gradient: one multi-tensor pass over all groups, which
    /// reads gradScale, skip and each group's staged lr, momentum, decay and nesterov on the device.
    public void Apply(Tensor? gradScale = null, Tensor? skip = null)
    {
        if (settings is null) throw new InvalidOperationException("Sgd.Apply before Stage: the step's hyperparameters were never sent to the device");
        var (ps, bufs, groups) = (new List<Tensor>(), new List<Tensor?>(), new List<int>());
        for (int i = 0; i < Groups.Count; i++)
        {
            var g = Groups[i];
            foreach (var p in g.Parameters.Where(p => p.Grad is not null))
            {
                ps.Add(p);
                bufs.Add(g.Momentum == 0 ? null : StateBuffer(p, "momentum_buffer"));
                groups.Add(i);
            }
        }
        if (ps.Count == 0) return;
        ps[0].Backend.Extension<IOptimizerKernels>().MultiTensorSgd(ps, ps.Select(p => p.Grad!).ToList(), bufs, groups, gradScale, skip, settings[0]);
    }

    public void ZeroGrad()
    {
        foreach (var g in Groups)
            foreach (var p in g.Parameters) p.ZeroGrad();
    }

    public IEnumerable<(string Name, Tensor Tensor)> State(IReadOnlyList<Tensor> parameters)
    {
        for (int i = 0; i < parameters.Count; i++)
            if (buffers.TryGetValue(parameters[i], out var b)) yield return ($"{i}.momentum_buffer", b);
    }

    public Tensor StateBuffer(Tensor parameter, string name)
    {
        if (name != "momentum_buffer") throw new ArgumentException($"SGD has no state '{name}'");
        if (!buffers.TryGetValue(parameter, out var b))
            buffers[parameter] = b = TensorScope.Escape(Tensor.Zeros(parameter.Shape, parameter.DType, parameter.Device));
        return b;
    }

    /// The momentum buffer of a parameter, if it has one yet.
    public Tensor? MomentumBuffer(Tensor parameter) => buffers.GetValueOrDefault(parameter);

    public void Dispose()
    {
        foreach (var b in buffers.Values) b.Dispose();
        buffers.Clear();
        settings?.Dispose();
        settings = null;
    }
}
