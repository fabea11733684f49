namespace YoloCore.Autograd;

/// Runs a backward pass: visits the graph's nodes in reverse topological order, each once, after
/// every consumer has passed its gradient; sums gradients per node and accumulates leaf gradients
/// into Tensor.Grad; fires a leaf's gradient-final hooks when its last contribution arrives.
internal static class BackwardEngine
{
    public static void Run(Tensor root, Tensor? gradient)
    {
        if (!root.RequiresGrad) throw new InvalidOperationException($"{root} does not require grad: nothing to differentiate");
        Tensor seed = gradient ?? (root.Count == 1
            ? Tensor.Full(root.Shape, 1, root.DType, root.Device)
            : throw new InvalidOperationException($"Backward() without a gradient needs a scalar, got {root.Shape}"));
        if (seed.Shape != root.Shape) throw new ArgumentException($"gradient shape {seed.Shape} does not match {root.Shape}");

        using var _ = GradMode.NoGrad();
        if (root.GradFn is null)
        {
            AccumulateLeaf(root, seed, owned: gradient is null);
            root.RunGradFinalHooks();
            return;
        }

        var (consumers, leafUses) = CountUses(root.GradFn);
        var pending = new Dictionary<Node, Tensor> { [root.GradFn] = gradient is null ? seed : seed.Detach() };
        var ready = new Stack<Node>();
        ready.Push(root.GradFn);

        while (ready.Count > 0)
        {
            var node = ready.Pop();
            // A node none of whose consumers produced a gradient still runs its bookkeeping, so
            // that the counts upstream reach zero and leaf hooks fire.
            Tensor?[] grads;
            Tensor?[] addInto = AddTargets(pending, node);
            if (pending.Remove(node, out var gradOut))
            {
                grads = node.Backward(gradOut, addInto);
                gradOut.Dispose();
            }
            else grads = new Tensor?[node.InputCount];
            node.MarkRunAndRelease();
            if (grads.Length != node.InputCount)
                throw new InvalidOperationException($"{node.Name} returned {grads.Length} gradients for {node.InputCount} inputs");

            for (int i = 0; i < grads.Length; i++)
            {
                var g = grads[i];
                var producer = node.Producer(i);
                var leaf = node.Leaf(i);
                if (producer is not null)
                {
                    if (g is not null && !ReferenceEquals(g, addInto[i])) Accumulate(pending, producer, g);
                    if (--consumers[producer] == 0) ready.Push(producer);
                }
                else if (leaf is not null)
                {
                    if (g is not null) AccumulateLeaf(leaf, g, owned: true);
                    if (--leafUses[leaf] == 0) leaf.RunGradFinalHooks();
                }
                else g?.Dispose();
            }
        }
    }

    /// How many recorded edges point at each node and at each leaf, over the reachable graph.
    static (Dictionary<Node, int>, Dictionary<Tensor, int>) CountUses(Node root)
    {
        var consumers = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        var leafUses = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<Node>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (n.HasRun) throw new InvalidOperationException($"the graph through {n.Name} was already used by a backward pass and its saved tensors are released");
            for (int i = 0; i < n.InputCount; i++)
            {
                if (n.Producer(i) is { } p)
                {
                    consumers[p] = consumers.GetValueOrDefault(p) + 1;
                    if (seen.Add(p)) stack.Push(p);
                }
                else if (n.Leaf(i) is { } l) leafUses[l] = leafUses.GetValueOrDefault(l) + 1;
            }
        }
        return (consumers, leafUses);
    }

    /// For each input of node, the gradient its producer has so far, which node may add into: one
    /// the engine owns alone (not a view of shared storage), and whose producer no other input of
    /// node has (so that nothing adds into it twice in one Backward).
    static Tensor?[] AddTargets(Dictionary<Node, Tensor> pending, Node node)
    {
        var targets = new Tensor?[node.InputCount];
        for (int i = 0; i < targets.Length; i++)
        {
            var p = node.Producer(i);
            if (p is null || !pending.TryGetValue(p, out var sum) || sum.Storage.IsShared) continue;
            bool alone = true;
            for (int j = 0; j < targets.Length; j++)
                if (j != i && ReferenceEquals(node.Producer(j), p)) alone = false;
            if (alone) targets[i] = sum;
        }
        return targets;
    }

    static void Accumulate(Dictionary<Node, Tensor> pending, Node node, Tensor g)
    {
        if (pending.TryGetValue(node, out var sum))
        {
            // Nodes may pass a gradient through as a view; never add into shared storage.
            if (sum.Storage.IsShared)
            {
                var own = Tensor.Empty(sum.Shape, sum.DType, sum.Device);
                own.Backend.Copy(sum, own);
                sum.Dispose();
                pending[node] = sum = own;
            }
            if (g.DType != sum.DType) g = Converted(g, sum.DType); // consumers that wrote different dtypes
            sum.Backend.AddInPlace(sum, g);
            g.Dispose();
        }
        else pending[node] = g;
    }

    static Tensor Converted(Tensor g, DType dtype)
    {
        var c = Tensor.Empty(g.Shape, dtype, g.Device);
        c.Backend.Copy(g, c);
        g.Dispose();
        return c;
    }

    static void AccumulateLeaf(Tensor leaf, Tensor g, bool owned)
    {
        if (g.Shape != leaf.Shape) throw new InvalidOperationException($"gradient {g.Shape} for leaf {leaf}");
        if (leaf.Grad is null)
        {
            // The first gradient becomes the leaf's when the engine holds it alone: no copy, no
            // launch (177 per yolov5s step). A view of shared storage is copied instead.
            if (owned && !g.Storage.IsShared && g.DType == leaf.DType && g.Device == leaf.Device)
            {
                leaf.Grad = TensorScope.Escape(g);
                return;
            }
            var grad = Tensor.EmptyUnscoped(leaf.Shape, leaf.DType, leaf.Device);
            grad.Backend.Copy(g, grad);
            leaf.Grad = grad;
        }
        else leaf.Backend.AddInPlace(leaf.Grad, g);
        if (owned) g.Dispose();
    }
}
