namespace YoloCore.Training;

/// Adam and AdamW as torch.optim computes them, with YOLOv5's betas (momentum, 0.999) and eps 1e-8.
/// Adam adds weight decay to the gradient (L2); AdamW shrinks the weights (decoupled decay).
public sealed class Adam(ParamGroup[] groups, bool decoupled, double beta2 = 0.999, double eps = 1e-8) : IOptimizer
{
    readonly Dictionary<Tensor, (Tensor M, Tensor V)> moments = new(ReferenceEqualityComparer.Instance);

    public IReadOnlyList<ParamGroup> Groups { get; } = groups;
    public bool Decoupled { get; } = decoupled;
    public int Steps { get; set; }

    /// Adam reads skip and gradScale back, so a step using it is not captured.
    public bool Capturable => false;

    public void Step(Tensor? gradScale = null, Tensor? skip = null) => Apply(gradScale, skip);

    /// Nothing to stage: Apply passes the hyperparameters to the kernels itself.
    public void Stage() { }

    /// Reads skip and gradScale back (two waits for the device): the step count that bias
    /// correction uses lives on the host and must not count a skipped step.
    public void Apply(Tensor? gradScale = null, Tensor? skip = null)
    {
        if (skip is not null && skip.Item() != 0) return;
        Steps++;
        double scale = gradScale?.Item() ?? 1;
        if (scale != 1) GradientClipping.Scale(Groups.SelectMany(g => g.Parameters).Select(p => p.Grad).OfType<Tensor>().ToList(), scale);
        foreach (var g in Groups)
            foreach (var p in g.Parameters)
            {
                if (p.Grad is null) continue;
                if (!moments.TryGetValue(p, out var mv))
                    moments[p] = mv = (TensorScope.Escape(Tensor.Zeros(p.Shape, p.DType, p.Device)), TensorScope.Escape(Tensor.Zeros(p.Shape, p.DType, p.Device)));
                // The group's momentum is Adam's beta1 (YOLOv5 passes betas=(momentum, 0.999)).
                p.Backend.Extension<IOptimizerKernels>().AdamStep(p, p.Grad, mv.M, mv.V, g.Lr, g.Momentum, beta2, eps, g.WeightDecay, Decoupled, Steps);
            }
    }

    public Tensor StateBuffer(Tensor parameter, string name)
    {
        if (!moments.TryGetValue(parameter, out var mv))
            moments[parameter] = mv = (TensorScope.Escape(Tensor.Zeros(parameter.Shape, parameter.DType, parameter.Device)), TensorScope.Escape(Tensor.Zeros(parameter.Shape, parameter.DType, parameter.Device)));
        return name switch { "exp_avg" => mv.M, "exp_avg_sq" => mv.V, _ => throw new ArgumentException($"Adam has no state '{name}'") };
    }

    public void ZeroGrad()
    {
        foreach (var g in Groups)
            foreach (var p in g.Parameters) p.ZeroGrad();
    }

    public IEnumerable<(string Name, Tensor Tensor)> State(IReadOnlyList<Tensor> parameters)
    {
        for (int i = 0; i < parameters.Count; i++)
            if (moments.TryGetValue(parameters[i], out var mv))
            {
                yield return ($"{i}.exp_avg", mv.M);
                yield return ($"{i}.exp_avg_sq", mv.V);
            }
    }

    public void Dispose()
    {
        foreach (var (m, v) in moments.Values) { m.Dispose(); v.Dispose(); }
        moments.Clear();
    }
}
