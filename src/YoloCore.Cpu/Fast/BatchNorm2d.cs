using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace YoloCore.Cpu;

/// What follows BatchNorm's affine map z = (x - mean)·scale + β inside the same pass: nothing, or
/// YOLOv5's SiLU. Structs with static members, so each pass is compiled once per activation with
/// the call inlined.
internal interface IBatchNormActivation
{
    static abstract Vector512<float> Forward(Vector512<float> z);
    static abstract Vector256<float> Forward(Vector256<float> z);
    static abstract float Forward(float z);
    /// The gradient at z given the output gradient g.
    static abstract Vector512<float> Grad(Vector512<float> z, Vector512<float> g);
    static abstract Vector256<float> Grad(Vector256<float> z, Vector256<float> g);
    static abstract float Grad(float z, float g);
}

internal struct NoActivation : IBatchNormActivation
{
    public static Vector512<float> Forward(Vector512<float> z) => z;
    public static Vector256<float> Forward(Vector256<float> z) => z;
    public static float Forward(float z) => z;
    public static Vector512<float> Grad(Vector512<float> z, Vector512<float> g) => g;
    public static Vector256<float> Grad(Vector256<float> z, Vector256<float> g) => g;
    public static float Grad(float z, float g) => g;
}

/// silu(z) = z·σ(z); silu'(z) = σ(z)·(1 + z·(1 - σ(z))).
internal struct SiluActivation : IBatchNormActivation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Forward(Vector512<float> z) => z * VectorMath.Sigmoid(z);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Forward(Vector256<float> z) => z * VectorMath.Sigmoid(z);
    public static float Forward(float z) => z * VectorMath.Sigmoid(z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Grad(Vector512<float> z, Vector512<float> g)
    {
        var s = VectorMath.Sigmoid(z);
        return g * s * (Vector512<float>.One + z * (Vector512<float>.One - s));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Grad(Vector256<float> z, Vector256<float> g)
    {
        var s = VectorMath.Sigmoid(z);
        return g * s * (Vector256<float>.One + z * (Vector256<float>.One - s));
    }

    public static float Grad(float z, float g)
    {
        float s = VectorMath.Sigmoid(z);
        return g * s * (1 + z * (1 - s));
    }
}

/// The float32 passes of BatchNorm(+activation) over an NHWC tensor viewed as [rows, C]. Forward:
/// one pass for the statistics, one for the output (z = (x - mean)·scale + β and the activation).
/// Backward: one pass takes the gradient back through the activation at z recomputed from x (no
/// stored copy of z) and sums it per channel, leaving it in gx's buffer; one pass turns it into the
/// input gradient in place. Centring before scaling keeps z accurate when the mean is large next
/// to the spread (x·scale + shift would cancel). Sums run over fixed chunks of rows and are
/// combined in chunk order, so results do not depend on thread timing. The per-range loops are
/// separate methods compiled fully optimised at once, with the activation inlined.
internal static unsafe class FastBatchNorm2d
{
    const int RowsPerChunk = 256;
    const long RowGrain = 1 << 15;

    static int Chunks(long rows) => (int)Math.Max(1, (rows + RowsPerChunk - 1) / RowsPerChunk);

    /// Per-channel mean and Σ(x - mean)² in one pass over memory: each chunk of rows is still in
    /// cache for its second (centred) look, and chunks are merged with Chan et al.'s formula in
    /// double, so a large mean next to a small spread loses nothing to cancellation.
    public static (double[] Mean, double[] CentredSquares) Moments(float* x, long rows, int c)
    {
        int chunks = Chunks(rows);
        var chunkMean = new float[chunks * (long)c];
        var chunkM2 = new float[chunks * (long)c];
        CpuParallel.For(chunks, 4, (lo, hi) =>
        {
            fixed (float* pm = chunkMean, pq = chunkM2)
                for (long k = lo; k < hi; k++)
                {
                    long r0 = k * RowsPerChunk, r1 = Math.Min(rows, r0 + RowsPerChunk);
                    ChunkMoments(x + r0 * c, r1 - r0, c, pm + k * c, pq + k * c);
                }
        });
        var total = new double[c];
        var centred = new double[c];
        for (int j = 0; j < c; j++)
        {
            double n = 0, mean = 0, m2 = 0;
            for (long k = 0; k < chunks; k++)
            {
                double nb = Math.Min(rows, (k + 1) * RowsPerChunk) - k * RowsPerChunk;
                double delta = chunkMean[k * c + j] - mean;
                m2 += chunkM2[k * c + j] + delta * delta * n * nb / (n + nb);
                mean += delta * nb / (n + nb);
                n += nb;
            }
            total[j] = mean;
            centred[j] = m2;
        }
        return (total, centred);
    }

    /// sums[j] = Σx and sums[c + j] = Σx² per channel, in double: chunks in parallel, added in
    /// chunk order.
    public static void Sums(float* x, long rows, int c, double* sums)
    {
        int chunks = Chunks(rows);
        var partial = new double[chunks * 2L * c];
        CpuParallel.For(chunks, 4, (lo, hi) =>
        {
            fixed (double* pp = partial)
                for (long k = lo; k < hi; k++)
                {
                    long r0 = k * RowsPerChunk, r1 = Math.Min(rows, r0 + RowsPerChunk);
                    ChunkSums(x + r0 * c, r1 - r0, c, pp + k * 2 * c);
                }
        });
        new Span<double>(sums, 2 * c).Clear();
        for (long k = 0; k < chunks; k++)
            for (int j = 0; j < 2 * c; j++) sums[j] += partial[k * 2 * c + j];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ChunkSums(float* x, long rows, int c, double* sums)
    {
        new Span<double>(sums, 2 * c).Clear();
        double* sq = sums + c;
        for (long r = 0; r < rows; r++)
        {
            float* row = x + r * c;
            int j = 0;
            for (; j + 8 <= c; j += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(row + j));
                (Vector256.Load(sums + j) + lo).Store(sums + j);
                (Vector256.Load(sums + j + 4) + hi).Store(sums + j + 4);
                (Vector256.Load(sq + j) + lo * lo).Store(sq + j);
                (Vector256.Load(sq + j + 4) + hi * hi).Store(sq + j + 4);
            }
            for (; j < c; j++)
            {
                double v = row[j];
                sums[j] += v;
                sq[j] += v * v;
            }
        }
    }

    /// mean[j] = Σ x / rows, then m2[j] = Σ (x - mean[j])² over one chunk (m2 starts at zero).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ChunkMoments(float* x, long rows, int c, float* mean, float* m2)
    {
        new Span<float>(mean, c).Clear();
        new Span<float>(m2, c).Clear();
        for (long r = 0; r < rows; r++)
        {
            float* row = x + r * c;
            int j = 0;
            for (; j + 8 <= c; j += 8) (Vector256.Load(mean + j) + Vector256.Load(row + j)).Store(mean + j);
            for (; j < c; j++) mean[j] += row[j];
        }
        for (int j = 0; j < c; j++) mean[j] /= rows;
        for (long r = 0; r < rows; r++)
        {
            float* row = x + r * c;
            int j = 0;
            for (; j + 8 <= c; j += 8)
            {
                var d = Vector256.Load(row + j) - Vector256.Load(mean + j);
                (Vector256.Load(m2 + j) + d * d).Store(m2 + j);
            }
            for (; j < c; j++) m2[j] += (row[j] - mean[j]) * (row[j] - mean[j]);
        }
    }

    /// y[r, c] = act((x[r, c] - mean[c])·scale[c] + beta[c]) (+ residual[r, c] when it is not null)
    public static void Apply<TAct>(float* x, float* y, long rows, int c, float[] mean, float[] scale, float[] beta, float* residual = null)
        where TAct : struct, IBatchNormActivation =>
        CpuParallel.For(rows, Math.Max(1, RowGrain / c), (lo, hi) =>
        {
            fixed (float* pm = mean, ps = scale, pb = beta)
                if (residual == null) ApplyRows<TAct, NoResidual>(x + lo * c, y + lo * c, null, hi - lo, c, pm, ps, pb);
                else ApplyRows<TAct, AddResidual>(x + lo * c, y + lo * c, residual + lo * c, hi - lo, c, pm, ps, pb);
        });

    // Whether the apply adds a residual (a Bottleneck's shortcut): a type, so each loop is compiled
    // without the test.
    interface IResidual { static abstract bool Adds { get; } }
    struct NoResidual : IResidual { public static bool Adds => false; }
    struct AddResidual : IResidual { public static bool Adds => true; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ApplyRows<TAct, TRes>(float* x, float* y, float* res, long rows, int c, float* mean, float* scale, float* beta)
        where TAct : struct, IBatchNormActivation where TRes : struct, IResidual
    {
        for (long r = 0; r < rows; r++, x += c, y += c, res += TRes.Adds ? c : 0)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j + 16 <= c; j += 16)
                {
                    var v = TAct.Forward((Vector512.Load(x + j) - Vector512.Load(mean + j)) * Vector512.Load(scale + j) + Vector512.Load(beta + j));
                    (TRes.Adds ? v + Vector512.Load(res + j) : v).Store(y + j);
                }
            for (; j + 8 <= c; j += 8)
            {
                var v = TAct.Forward((Vector256.Load(x + j) - Vector256.Load(mean + j)) * Vector256.Load(scale + j) + Vector256.Load(beta + j));
                (TRes.Adds ? v + Vector256.Load(res + j) : v).Store(y + j);
            }
            for (; j < c; j++)
            {
                float v = TAct.Forward((x[j] - mean[j]) * scale[j] + beta[j]);
                y[j] = TRes.Adds ? v + res[j] : v;
            }
        }
    }

    /// The gradient reaching the affine map, g = act'(z)·gy, stored in gOut unless it is null (no
    /// activation: g is gy), and its per-channel sums Σ g and Σ g·(x - mean), in one pass.
    public static (double[] SumG, double[] SumGCentred) GradientSums<TAct>(float* x, float* gy, float* gOut, long rows, int c,
        float[] mean, float[] scale, float[] beta) where TAct : struct, IBatchNormActivation
    {
        int chunks = Chunks(rows);
        var partial = new float[2 * chunks * (long)c];
        CpuParallel.For(chunks, 4, (lo, hi) =>
        {
            fixed (float* pm = mean, ps = scale, pb = beta, pp = partial)
                for (long k = lo; k < hi; k++)
                {
                    long r0 = k * RowsPerChunk, r1 = Math.Min(rows, r0 + RowsPerChunk);
                    GradientSumRows<TAct>(x + r0 * c, gy + r0 * c, gOut == null ? null : gOut + r0 * c, r1 - r0, c, pm, ps, pb,
                        pp + 2 * k * c, pp + 2 * k * c + c);
                }
        });
        var s1 = new double[c];
        var s2 = new double[c];
        for (long k = 0; k < chunks; k++)
            for (int j = 0; j < c; j++)
            {
                s1[j] += partial[2 * k * c + j];
                s2[j] += partial[2 * k * c + c + j];
            }
        return (s1, s2);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void GradientSumRows<TAct>(float* x, float* gy, float* gOut, long rows, int c, float* mean, float* scale, float* beta,
        float* sumG, float* sumGx) where TAct : struct, IBatchNormActivation
    {
        for (long r = 0; r < rows; r++)
        {
            long o = r * c;
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j + 16 <= c; j += 16)
                {
                    var xc = Vector512.Load(x + o + j) - Vector512.Load(mean + j);
                    var g = TAct.Grad(xc * Vector512.Load(scale + j) + Vector512.Load(beta + j), Vector512.Load(gy + o + j));
                    if (gOut != null) g.Store(gOut + o + j);
                    (Vector512.Load(sumG + j) + g).Store(sumG + j);
                    (Vector512.Load(sumGx + j) + g * xc).Store(sumGx + j);
                }
            for (; j + 8 <= c; j += 8)
            {
                var xc = Vector256.Load(x + o + j) - Vector256.Load(mean + j);
                var g = TAct.Grad(xc * Vector256.Load(scale + j) + Vector256.Load(beta + j), Vector256.Load(gy + o + j));
                if (gOut != null) g.Store(gOut + o + j);
                (Vector256.Load(sumG + j) + g).Store(sumG + j);
                (Vector256.Load(sumGx + j) + g * xc).Store(sumGx + j);
            }
            for (; j < c; j++)
            {
                float xc = x[o + j] - mean[j];
                float g = TAct.Grad(xc * scale[j] + beta[j], gy[o + j]);
                if (gOut != null) gOut[o + j] = g;
                sumG[j] += g;
                sumGx[j] += g * xc;
            }
        }
    }

    /// gx[r, c] = k[c]·(g[r, c] - m1[c] - (x[r, c] - mean[c])·m2[c]): BatchNorm's input gradient from
    /// the gradient g at its output (g may be gx itself).
    public static void InputGradient(float* x, float* g, float* gx, long rows, int c, float[] mean, float[] k, float[] m1, float[] m2) =>
        CpuParallel.For(rows, Math.Max(1, RowGrain / c), (lo, hi) =>
        {
            fixed (float* pk = k, pm = mean, p1 = m1, p2 = m2)
                InputGradientRows(x + lo * c, g + lo * c, gx + lo * c, hi - lo, c, pm, pk, p1, p2);
        });

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void InputGradientRows(float* x, float* g, float* gx, long rows, int c, float* mean, float* k, float* m1, float* m2)
    {
        for (long r = 0; r < rows; r++, x += c, g += c, gx += c)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j + 16 <= c; j += 16)
                {
                    var xc = Vector512.Load(x + j) - Vector512.Load(mean + j);
                    (Vector512.Load(k + j) * (Vector512.Load(g + j) - Vector512.Load(m1 + j) - xc * Vector512.Load(m2 + j))).Store(gx + j);
                }
            for (; j + 8 <= c; j += 8)
            {
                var xc = Vector256.Load(x + j) - Vector256.Load(mean + j);
                (Vector256.Load(k + j) * (Vector256.Load(g + j) - Vector256.Load(m1 + j) - xc * Vector256.Load(m2 + j))).Store(gx + j);
            }
            for (; j < c; j++) gx[j] = k[j] * (g[j] - m1[j] - (x[j] - mean[j]) * m2[j]);
        }
    }
}
