namespace YoloCore.Nn.Yolo;

/// The host half of YoloLoss for one batch: each level's assigned targets (build_targets) and the
/// weights that turn the level's three sums into the loss: Weights for the reported items,
/// StepWeights (× batch size) for the loss that backward runs on; Counts: targets per level.
public sealed record PreparedTargets(LevelTargets[] Levels, double[][] Weights, double[][] StepWeights, double[] Counts)
{
    public int MaxCount => Levels.Max(l => l.Count);
}

/// One level's targets on the device. Count (an int32 scalar) is set when the buffers have a
/// fixed capacity and only the first Count rows are real.
public sealed record LevelInputs(Tensor Rows, Tensor Box, Tensor Anchor, Tensor Class, Tensor? Count);

/// The loss's inputs on the device: per level; every level's weights and step weights [nl, 3]
/// (PreparedTargets'), so that one product and one sum weigh all levels' sums; and the per-level
/// counts (float32 [nl]) that data-parallel training sums over ranks.
public sealed record LossInputs(LevelInputs[] Levels, Tensor Weights, Tensor StepWeights, Tensor Counts)
{
    /// The targets as tensors of their exact sizes in the current scope (one upload each).
    public static LossInputs Upload(PreparedTargets t, DType dtype, Device device)
    {
        var levels = t.Levels.Select(l => new LevelInputs(
            Tensor.FromArray(l.Rows, l.Count).To(device), Tensor.FromDoubles(l.Box, new Shape(l.Count, 4), dtype, device),
            Tensor.FromDoubles(l.Anchor, new Shape(l.Count, 2), dtype, device), Tensor.FromArray(l.Class, l.Count).To(device), null)).ToArray();
        var shape = new Shape(t.Levels.Length, 3);
        return new LossInputs(levels, Tensor.FromDoubles([.. t.Weights.SelectMany(w => w)], shape, dtype, device),
            Tensor.FromDoubles([.. t.StepWeights.SelectMany(w => w)], shape, dtype, device), Tensor.FromDoubles(t.Counts, new Shape(t.Counts.Length), DType.Float32, device));
    }
}

/// The loss's inputs in fixed-capacity device buffers (StagedValues) that each step overwrites
/// with one upload: the same tensors every step, so a step captured as a CUDA graph reads each
/// step's targets. Padding beyond a level's count is ignored by the loss.
public sealed class StagedLossInputs : IDisposable
{
    // Per level: count, rows, box, anchor, class; then the weights, step weights and counts.
    const int PerLevel = 5;
    readonly StagedValues values;
    readonly int levels;

    public StagedLossInputs(int levels, int capacity, DType dtype, Device device)
    {
        if (dtype is not (DType.Float32 or DType.Float64)) throw new ArgumentException($"the loss's targets are float32 or float64, not {dtype.Name()}");
        (this.levels, Capacity, DType) = (levels, capacity, dtype);
        var layout = new List<(Shape, DType)>();
        for (int i = 0; i < levels; i++)
            layout.AddRange([(new Shape(1), DType.Int32), (new Shape(capacity), DType.Int32), (new Shape(capacity, 4), dtype), (new Shape(capacity, 2), dtype),
                (new Shape(capacity), DType.Int32)]);
        layout.AddRange([(new Shape(levels, 3), dtype), (new Shape(levels, 3), dtype), (new Shape(levels), DType.Float32)]);
        values = new StagedValues(device, [.. layout]);
        int end = levels * PerLevel;
        Inputs = new LossInputs(Enumerable.Range(0, levels).Select(i =>
        {
            int f = i * PerLevel;
            return new LevelInputs(values[f + 1], values[f + 2], values[f + 3], values[f + 4], values[f]);
        }).ToArray(), values[end], values[end + 1], values[end + 2]);
    }

    /// Targets per level these buffers hold.
    public int Capacity { get; }
    public DType DType { get; }
    public LossInputs Inputs { get; }

    /// The capacity that holds count targets with room to spare: a power of two, at least 256.
    public static int CapacityFor(int count) => (int)Math.Max(256, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, count)));

    /// Writes a batch's targets and sends them (one upload, queued after the ops already queued).
    public void Upload(PreparedTargets t)
    {
        if (t.Levels.Length != levels) throw new ArgumentException($"{t.Levels.Length} levels of targets for buffers of {levels}");
        if (t.MaxCount > Capacity) throw new ArgumentException($"{t.MaxCount} targets on one level exceed the buffers' capacity of {Capacity}");
        for (int i = 0; i < levels; i++)
        {
            var l = t.Levels[i];
            int f = i * PerLevel, n = l.Count;
            values.Host<int>(f)[0] = n;
            Write(values.Host<int>(f + 1), l.Rows);
            Write(values.Host<int>(f + 4), l.Class);
            WriteFloating(f + 2, l.Box);
            WriteFloating(f + 3, l.Anchor);
        }
        int end = levels * PerLevel;
        WriteFloating(end, [.. t.Weights.SelectMany(w => w)]);
        WriteFloating(end + 1, [.. t.StepWeights.SelectMany(w => w)]);
        var counts = values.Host<float>(end + 2);
        for (int i = 0; i < levels; i++) counts[i] = (float)t.Counts[i];
        values.Upload();
    }

    /// The values, then zeros for the padding (so the buffers do not depend on earlier batches).
    static void Write(Span<int> field, int[] v)
    {
        v.CopyTo(field);
        field[v.Length..].Clear();
    }

    void WriteFloating(int field, double[] v)
    {
        if (DType == DType.Float64)
        {
            var d = values.Host<double>(field);
            v.CopyTo(d);
            d[v.Length..].Clear();
            return;
        }
        var s = values.Host<float>(field);
        for (int i = 0; i < v.Length; i++) s[i] = (float)v[i];
        s[v.Length..].Clear();
    }

    public void Dispose() => values.Dispose();
}
