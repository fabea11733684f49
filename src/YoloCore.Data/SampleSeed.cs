namespace YoloCore.Data;

/// Derives independent seeds from (seed, epoch, sample position) with SplitMix64 finalisers, so a
/// sample's augmentation depends only on those numbers — not on which worker thread ran it or when.
public static class SampleSeed
{
    public static ulong Mix(ulong a, ulong b, ulong c)
    {
        ulong h = Finalize(a ^ 0x9E3779B97F4A7C15UL);
        h = Finalize(h ^ b);
        return Finalize(h ^ (c * 0xD6E8FEB86659FD93UL));
    }

    public static Rng ForSample(ulong seed, int epoch, int position) => new(Mix(seed, (ulong)epoch + 1, (ulong)position));

    static ulong Finalize(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
