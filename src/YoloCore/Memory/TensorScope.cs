namespace YoloCore;

/// Deterministic lifetime for tensors. Every tensor created while a scope is open on this thread
/// belongs to that scope and is disposed when the scope ends, unless it was moved out with Keep.
/// A training step runs inside one scope, so its activations, graph and temporaries are all
/// returned at the end of the step. Tensors created with no scope open (parameters, optimizer
/// state) live until disposed explicitly.
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? current;

    readonly TensorScope? parent;
    readonly List<Tensor> owned = [];
    bool disposed;

    TensorScope(TensorScope? parent) => this.parent = parent;

    /// The innermost open scope on this thread, or null.
    public static TensorScope? Current => current;

    public static TensorScope Begin() => current = new TensorScope(current);

    /// Number of tensor handles this scope will dispose (for tests and diagnostics).
    public int OwnedCount => owned.Count(t => t.Scope == this && !t.IsDisposed);

    internal static void Adopt(Tensor t)
    {
        t.Scope = current;
        current?.owned.Add(t);
    }

    /// Move a tensor out of its scope into the enclosing one (or make it unscoped at top level).
    public static Tensor Keep(Tensor tensor)
    {
        var scope = tensor.Scope;
        if (scope is null) return tensor;
        tensor.Scope = scope.parent;
        scope.parent?.owned.Add(tensor);
        return tensor;
    }

    /// Take a tensor out of every scope: the caller now owns it (parameters, optimizer state).
    public static Tensor Escape(Tensor tensor)
    {
        tensor.Scope = null;
        return tensor;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (current != this)
            throw new InvalidOperationException("tensor scopes must end in the reverse order they began");
        current = parent;
        // Reverse order frees later (often larger, derived) tensors first.
        for (int i = owned.Count - 1; i >= 0; i--)
        {
            var t = owned[i];
            if (t.Scope == this && !t.IsDisposed) t.Dispose();
        }
        owned.Clear();
    }
}
