namespace YoloCore.Autograd;

/// Whether operations record the graph on this thread. `using (GradMode.NoGrad()) { ... }`
/// runs inference or parameter updates without building a graph.
public static class GradMode
{
    [ThreadStatic] static int disabledDepth;

    public static bool IsEnabled => disabledDepth == 0;

    public static IDisposable NoGrad()
    {
        disabledDepth++;
        return new Restore();
    }

    sealed class Restore : IDisposable
    {
        bool done;
        public void Dispose()
        {
            if (done) return;
            done = true;
            disabledDepth--;
        }
    }

    /// True when an op on these inputs must record a node.
    public static bool ShouldRecord(Tensor? a, Tensor? b = null, Tensor? c = null) =>
        IsEnabled && ((a?.RequiresGrad ?? false) || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false));

    public static bool ShouldRecord(IReadOnlyList<Tensor> inputs) =>
        IsEnabled && inputs.Any(t => t.RequiresGrad);
}
