namespace YoloCore.Nn;

/// Children named "0", "1", ... like torch.nn.ModuleList / Sequential. As a Sequential, Forward
/// applies them in order; YoloModel uses it only as a container and routes inputs itself.
public sealed class ModuleList : Module
{
    readonly List<Module> items = [];

    public ModuleList(IEnumerable<Module>? modules = null)
    {
        foreach (var m in modules ?? []) Add(m);
    }

    public int Count => items.Count;
    public Module this[int i] => items[i];

    public void Add(Module m)
    {
        RegisterModule(items.Count.ToString(), m);
        items.Add(m);
    }

    public override Tensor Forward(Tensor x)
    {
        var h = x;
        for (int i = 0; i < items.Count; i++)
        {
            var next = items[i].Forward(h);
            if (i > 0) h.Dispose(); // intermediate outputs: the graph keeps what backward needs
            h = next;
        }
        return h;
    }
}
