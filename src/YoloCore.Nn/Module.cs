namespace YoloCore.Nn;

/// A layer with named parameters, buffers and child modules, listed in the order PyTorch's
/// state_dict lists them (own parameters, own buffers, then children in registration order), so
/// names like "model.0.conv.weight" line up with YOLOv5 checkpoints. Parameters and buffers are
/// unscoped tensors owned by the module and freed by Dispose.
public abstract class Module : IDisposable
{
    readonly List<(string Name, Tensor Tensor)> parameters = [];
    readonly List<(string Name, Tensor Tensor)> buffers = [];
    readonly List<(string Name, Module Module)> children = [];

    public bool Training { get; private set; } = true;

    public abstract Tensor Forward(Tensor x);

    /// Switches this module and its children between training and evaluation behaviour.
    public void Train(bool training = true)
    {
        Training = training;
        foreach (var (_, m) in children) m.Train(training);
    }

    public void Eval() => Train(false);

    protected Tensor RegisterParameter(string name, Tensor value)
    {
        TensorScope.Escape(value);
        value.RequiresGrad = true;
        value.Name = name;
        parameters.Add((name, value));
        return value;
    }

    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        TensorScope.Escape(value);
        value.Name = name;
        buffers.Add((name, value));
        return value;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        children.Add((name, module));
        return module;
    }

    public IEnumerable<(string Name, Module Module)> NamedChildren() => children;

    /// This module and every descendant, depth first in registration order (as PyTorch's modules()).
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix.TrimEnd('.'), this);
        foreach (var (n, m) in children)
            foreach (var e in m.NamedModules($"{prefix}{n}.")) yield return e;
    }

    /// This module's own parameters (not its children's), as named_parameters(recurse=False).
    public IEnumerable<(string Name, Tensor Tensor)> OwnParameters() => parameters;

    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters(string prefix = "")
    {
        foreach (var (n, p) in parameters) yield return (prefix + n, p);
        foreach (var (n, m) in children)
            foreach (var e in m.NamedParameters($"{prefix}{n}.")) yield return e;
    }

    public IEnumerable<(string Name, Tensor Tensor)> NamedBuffers(string prefix = "")
    {
        foreach (var (n, b) in buffers) yield return (prefix + n, b);
        foreach (var (n, m) in children)
            foreach (var e in m.NamedBuffers($"{prefix}{n}.")) yield return e;
    }

    /// Parameters and buffers in PyTorch's state_dict order.
    public IEnumerable<(string Name, Tensor Tensor)> StateDict(string prefix = "")
    {
        foreach (var (n, p) in parameters) yield return (prefix + n, p);
        foreach (var (n, b) in buffers) yield return (prefix + n, b);
        foreach (var (n, m) in children)
            foreach (var e in m.StateDict($"{prefix}{n}.")) yield return e;
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Tensor);

    public long ParameterCount() => Parameters().Sum(p => p.Count);

    /// Moves every parameter and buffer to the device (in place: references stay valid).
    public void To(Device device)
    {
        foreach (var (_, t) in StateDict()) t.MoveTo(device);
    }

    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    public virtual void Dispose()
    {
        foreach (var (_, p) in parameters) { p.ZeroGrad(); p.Dispose(); }
        foreach (var (_, b) in buffers) b.Dispose();
        foreach (var (_, m) in children) m.Dispose();
        GC.SuppressFinalize(this);
    }
}
