namespace YoloCore.Autograd;

/// One recorded operation in the define-by-run graph. It knows, for each forward input, where that
/// input's gradient goes (the producing node, or a leaf that accumulates it), and keeps the
/// tensors its backward needs. Those saved tensors are released as soon as the node has run.
public abstract class Node
{
    readonly Node?[] producers;
    readonly Tensor?[] leaves;
    List<Tensor>? saved;

    /// inputs: the forward inputs in the order Backward returns their gradients.
    protected Node(params Tensor?[] inputs)
    {
        producers = new Node?[inputs.Length];
        leaves = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i];
            if (t is null || !t.RequiresGrad) continue;
            if (t.GradFn is not null) producers[i] = t.GradFn;
            else leaves[i] = t;
        }
    }

    public virtual string Name => GetType().Name;

    /// Records this node as what produced output: how an op defined outside Core (the YOLO loss
    /// in Nn) joins the graph. output must be the op's fresh result, not yet in a graph.
    public void Attach(Tensor output)
    {
        if (output.GradFn is not null || output.RequiresGrad) throw new InvalidOperationException($"{Name} cannot attach to {output}: it is already in a graph or a leaf that requires grad");
        output.GradFn = this;
    }
    public bool HasRun { get; private set; }

    internal int InputCount => producers.Length;
    internal Node? Producer(int i) => producers[i];
    internal Tensor? Leaf(int i) => leaves[i];

    /// Whether the gradient of input i is needed (it requires grad).
    protected bool NeedsGrad(int i) => producers[i] is not null || leaves[i] is not null;

    /// The dtype this node's Backward takes its gradient in without converting it, if it has one
    /// (a cast takes its input's dtype: a float16 copy of a float32 master weight takes float32).
    internal virtual DType? TakesGradientIn => null;

    /// The dtype to write input i's gradient in: what its producer takes without converting,
    /// else computed (the dtype the op works in). An op whose kernels can write either (a
    /// convolution's weight gradient, summed in float32 anyway) saves the producer's conversion.
    protected DType GradientDType(int i, DType computed) => producers[i]?.TakesGradientIn ?? computed;

    /// Keeps a handle on t's storage for backward; it is released right after this node runs (or
    /// at the end of the enclosing scope if backward never runs).
    protected Tensor Save(Tensor t)
    {
        var handle = t.ShareStorage(t.Shape);
        (saved ??= []).Add(handle);
        return handle;
    }

    /// Gradients with respect to each forward input (null where not needed), given the gradient of
    /// the output. Returned tensors are owned by the engine, which disposes them once used.
    protected internal abstract Tensor?[] Backward(Tensor gradOutput);

    /// Backward where addInto[i] (or null) is the gradient input i's producer has so far, which
    /// this node may add input i's gradient into, returning that same tensor: one pass where a
    /// separate gradient and an add took two (a 1×1 convolution's GEMM adds with β = 1). The
    /// default writes fresh gradients.
    protected internal virtual Tensor?[] Backward(Tensor gradOutput, IReadOnlyList<Tensor?> addInto) => Backward(gradOutput);

    internal void MarkRunAndRelease()
    {
        HasRun = true;
        if (saved is null) return;
        foreach (var t in saved) t.Dispose();
        saved = null;
    }
}
