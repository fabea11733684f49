namespace YoloCore;

/// The extension ops one backend provides: op families declared outside IBackend (the YOLO
/// loss's fused kernels, the optimizers' kernels), each an interface that the backend registers
/// an implementation of when it is made. IBackend.Extension&lt;T&gt;() looks one up, so a new
/// fused op adds its own interface instead of widening IBackend (and every wrapper of it).
public sealed class ExtensionOps(Device device)
{
    readonly Dictionary<Type, object> ops = [];

    public ExtensionOps Add<T>(T implementation) where T : class
    {
        ops[typeof(T)] = implementation;
        return this;
    }

    public T Get<T>() where T : class =>
        ops.TryGetValue(typeof(T), out var o) ? (T)o
            : throw new NotSupportedException($"the {device} backend does not provide {typeof(T).Name} (registered: {string.Join(", ", ops.Keys.Select(k => k.Name))})");
}
