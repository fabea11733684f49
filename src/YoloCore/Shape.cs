namespace YoloCore;

/// An immutable list of dimension sizes (row-major, last dimension contiguous).
public readonly struct Shape : IEquatable<Shape>
{
    readonly int[]? dims;

    public Shape(params int[] dims)
    {
        foreach (int d in dims)
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(", ", dims)}]");
        this.dims = (int[])dims.Clone();
    }

    public int Rank => dims?.Length ?? 0;
    public int this[int axis] => Dims[axis < 0 ? axis + Rank : axis];
    public ReadOnlySpan<int> Dims => dims ?? [];

    /// Number of elements (1 for a scalar).
    public long Count
    {
        get
        {
            long n = 1;
            foreach (int d in Dims) n *= d;
            return n;
        }
    }

    public int[] ToArray() => Dims.ToArray();

    /// Product of dimensions in [from, to).
    public long Product(int from, int to)
    {
        long n = 1;
        for (int i = from; i < to; i++) n *= Dims[i];
        return n;
    }

    public int NormalizeAxis(int axis)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Rank) throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} out of range for shape {this}");
        return a;
    }

    public Shape With(int axis, int size)
    {
        var d = ToArray();
        d[NormalizeAxis(axis)] = size;
        return new Shape(d);
    }

    /// NumPy broadcasting of two shapes; throws with both shapes named when they do not broadcast.
    public static Shape Broadcast(Shape a, Shape b)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a.Dims[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b.Dims[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"shapes {a} and {b} do not broadcast");
            r[i] = da == 1 ? db : da;
        }
        return new Shape(r);
    }

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);
    public static implicit operator Shape(int[] dims) => new(dims);
    public override string ToString() => $"[{string.Join(", ", Dims.ToArray())}]";
}
