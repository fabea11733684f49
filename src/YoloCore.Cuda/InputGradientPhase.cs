namespace YoloCore.Cuda;

/// A convolution's input gradient as stride-1 convolutions of gy, one per phase: the input rows
/// ih ≡ A (mod sh) and columns iw ≡ B (mod sw). Along one axis, the taps that reach phase a are
/// k ≡ r = (a + p) mod s, namely r + s·t for t < T; flipped, they form a T-tap stride-1
/// convolution with padding P = T - 1 - (a + p - r) / s (negative when it starts inside gy),
/// whose output row i is input row a + s·i (OutMap). Stride 1 is one phase of every tap, padded
/// by k - 1 - p. A phase no tap reaches (a kernel smaller than its stride) has a zero gradient.
public readonly record struct InputGradientPhase(int A, int B, int Rh, int Rw, int Th, int Tw, int Ph, int Pw, int Hp, int Wp)
{
    public bool HasTaps => Th > 0 && Tw > 0;

    /// The phases with input rows and columns (an input smaller than its stride has fewer).
    public static List<InputGradientPhase> Plan(int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var phases = new List<InputGradientPhase>();
        for (int a = 0; a < Math.Min(sh, h); a++)
            for (int b = 0; b < Math.Min(sw, w); b++)
            {
                var (rh, th, padH, hp) = Axis(a, h, kh, sh, ph);
                var (rw, tw, padW, wp) = Axis(b, w, kw, sw, pw);
                phases.Add(new InputGradientPhase(a, b, rh, rw, th, tw, padH, padW, hp, wp));
            }
        return phases;
    }

    /// Along one axis: the first tap r, the tap count T, the padding P and the phase's rows.
    static (int R, int T, int P, int Rows) Axis(int a, int size, int k, int s, int p)
    {
        int r = (a + p) % s, taps = r < k ? (k - r + s - 1) / s : 0;
        return (r, taps, taps - 1 - (a + p - r) / s, (size - a + s - 1) / s);
    }
}
