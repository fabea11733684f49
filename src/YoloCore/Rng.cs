namespace YoloCore;

/// A small, fast, seedable generator (xoshiro256**, seeded by SplitMix64) so that initialisation,
/// augmentation and tests are reproducible across runs and platforms. Its state can be saved.
public sealed class Rng
{
    ulong s0, s1, s2, s3;

    public Rng(ulong seed)
    {
        ulong x = seed;
        s0 = SplitMix(ref x); s1 = SplitMix(ref x); s2 = SplitMix(ref x); s3 = SplitMix(ref x);
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// Uniform in [0, 1) with 53 random bits.
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// Uniform integer in [0, n).
    public int NextInt(int n) => (int)(NextDouble() * n);

    /// Standard normal (Box-Muller; one value per call keeps the sequence simple to reason about).
    public double Normal()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public ulong[] State => [s0, s1, s2, s3];

    public static Rng FromState(ulong[] state)
    {
        if (state.Length != 4) throw new ArgumentException("xoshiro256** state has four words");
        return new Rng(0) { s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3] };
    }
}
