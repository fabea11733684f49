namespace YoloCore.Nn.IO;

/// Moves a module's state between this engine and PyTorch-layout safetensors files. Convolution
/// weights are OHWI here and OIHW in PyTorch; every 4-D tensor is converted at this boundary, by
/// the two functions below and nowhere else.
public static class StateDictIO
{
    /// A tensor in PyTorch's layout: OHWI [Cout, kh, kw, Cin] → OIHW [Cout, Cin, kh, kw]; other ranks as they are.
    public static Tensor ToPyTorch(Tensor t) => t.Rank == 4 ? t.Permute(0, 3, 1, 2) : t;

    /// A PyTorch-layout tensor in ours: OIHW → OHWI; other ranks as they are.
    public static Tensor FromPyTorch(Tensor t) => t.Rank == 4 ? t.Permute(0, 2, 3, 1) : t;

    /// The module's parameters and buffers under `prefix + state-dict name`, in PyTorch layout
    /// (call inside a scope: the converted tensors are temporaries).
    public static IEnumerable<(string Name, Tensor Tensor)> Entries(Module module, string prefix = "") =>
        module.StateDict().Select(e => (prefix + e.Name, ToPyTorch(e.Tensor)));

    /// Writes the module's parameters and buffers under their state-dict names, in PyTorch layout.
    public static void Save(Module module, string path, IReadOnlyDictionary<string, string>? metadata = null, string prefix = "")
    {
        using var scope = TensorScope.Begin();
        using var _ = Autograd.GradMode.NoGrad();
        Safetensors.Save(path, Entries(module, prefix).ToList(), metadata);
    }

    /// Copies tensors named `prefix + state-dict name` into the module. Every module entry must be
    /// present with the right shape (after layout conversion); the error names what is missing or
    /// mismatched. Extra entries in the file are ignored and returned.
    public static List<string> Load(Module module, IReadOnlyDictionary<string, Tensor> tensors, string prefix = "")
    {
        using var scope = TensorScope.Begin();
        using var _ = Autograd.GradMode.NoGrad();
        var problems = new List<string>();
        var used = new HashSet<string>();
        foreach (var (name, target) in module.StateDict())
        {
            if (!tensors.TryGetValue(prefix + name, out var source)) { problems.Add($"missing {prefix + name}"); continue; }
            used.Add(prefix + name);
            var value = FromPyTorch(source);
            if (value.Shape != target.Shape) { problems.Add($"{prefix + name}: file has {source.Shape}, model expects {target.Shape} (PyTorch layout)"); continue; }
            if (value.Device != target.Device) value = value.To(target.Device); // files load on the CPU; models may live on a GPU
            target.Backend.Copy(value.DType == target.DType ? value : value.Cast(target.DType), target);
        }
        if (problems.Count > 0) throw new InvalidDataException($"state dict does not match the model: {string.Join("; ", problems.Take(10))}{(problems.Count > 10 ? $" (and {problems.Count - 10} more)" : "")}");
        return tensors.Keys.Where(k => k.StartsWith(prefix) && !used.Contains(k)).ToList();
    }

    /// Loads a safetensors file into the module (see Load above).
    public static List<string> Load(Module module, string path, string prefix = "")
    {
        var (list, _) = Safetensors.Load(path);
        try { return Load(module, list.ToDictionary(e => e.Name, e => e.Tensor), prefix); }
        finally { foreach (var (_, t) in list) t.Dispose(); }
    }
}
