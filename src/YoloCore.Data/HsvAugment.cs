namespace YoloCore.Data;

/// YOLOv5's augment_hsv: random gains r = 1 + U(−1, 1)·(hgain, sgain, vgain) become three 256-entry
/// lookup tables (hue ·r mod 180, saturation and value ·r clipped to 255), applied in OpenCV's
/// 8-bit HSV (hue 0..179). The RGB→HSV step uses OpenCV's integer formulas and the HSV→RGB step
/// its float formulas with the same rounding, so the result equals YOLOv5's bit for bit
/// (OpenCvGoldenTests checks it against OpenCV 4.6).
public static class HsvAugment
{
    const int Shift = 12;
    static readonly int[] sdiv = BuildTable(i => 255 << Shift, 1.0);
    static readonly int[] hdiv = BuildTable(i => 180 << Shift, 6.0);

    static int[] BuildTable(Func<int, int> numerator, double factor)
    {
        var t = new int[256];
        for (int i = 1; i < 256; i++) t[i] = (int)Math.Round(numerator(i) / (factor * i));
        return t;
    }

    public static void Apply(RgbImage im, Rng rng, double hgain, double sgain, double vgain)
    {
        if (hgain == 0 && sgain == 0 && vgain == 0) return;
        double rh = (rng.NextDouble() * 2 - 1) * hgain + 1;
        double rs = (rng.NextDouble() * 2 - 1) * sgain + 1;
        double rv = (rng.NextDouble() * 2 - 1) * vgain + 1;
        ApplyGains(im, rh, rs, rv);
    }

    public static unsafe void ApplyGains(RgbImage im, double rh, double rs, double rv)
    {
        byte* lutH = stackalloc byte[256], lutS = stackalloc byte[256], lutV = stackalloc byte[256];
        for (int x = 0; x < 256; x++)
        {
            double h = x * rh % 180;
            if (h < 0) h += 180;   // Python's % is never negative
            lutH[x] = (byte)(int)h;
            lutS[x] = (byte)(int)Math.Clamp(x * rs, 0, 255);
            lutV[x] = (byte)(int)Math.Clamp(x * rv, 0, 255);
        }
        // Every output channel is v·(1 − s·c) with c ∈ {0, 1, f, 1 − f} (f the hue's fraction in its
        // sector) chosen by hue sector and channel: one table of c per hue makes the step branch-free
        // (fma(−s, 1, 1) and fma(−s, 0, 1) equal OpenCV's 1 − s and 1 exactly).
        float* cr = stackalloc float[256], cg = stackalloc float[256], cb = stackalloc float[256];
        for (int h = 0; h < 256; h++)
        {
            float hh = h * (6f / 180f);
            int sct = (int)MathF.Floor(hh);
            float f = hh - sct;
            (cr[h], cg[h], cb[h]) = (sct % 6) switch
            {
                0 => (0f, 1 - f, 1f),
                1 => (f, 0f, 1f),
                2 => (1f, 0f, 1 - f),
                3 => (1f, f, 0f),
                4 => (1 - f, 1f, 0f),
                _ => (0f, 1f, f),
            };
        }
        // cv2.cvtColor converts row by row, 32 pixels at a time with SIMD (truncating) and the rest of
        // each row with scalar code (rounding); both are reproduced so results match bit for bit.
        int simdEnd = im.Width / 32 * 32 * 3, stride = im.Stride, n = im.ByteCount;
        fixed (byte* p = im.Array)
        fixed (int* sdiv = HsvAugment.sdiv, hdiv = HsvAugment.hdiv)
        for (int i = 0, rowStart = 0; i < n; i += 3)
        {
            if (i - rowStart == stride) rowStart = i;
            bool simd = i - rowStart < simdEnd;
            int r = p[i], g = p[i + 1], b = p[i + 2];
            int v = Math.Max(Math.Max(r, g), b), vmin = Math.Min(Math.Min(r, g), b);
            int diff = v - vmin;
            int s = (diff * sdiv[v] + (1 << (Shift - 1))) >> Shift;
            // OpenCV's branch-free choice of the hue formula (vr, vg: all-ones when v is r, g).
            int vr = v == r ? -1 : 0, vg = v == g ? -1 : 0;
            int hue = (vr & (g - b)) + (~vr & ((vg & (b - r + 2 * diff)) + (~vg & (r - g + 4 * diff))));
            hue = (hue * hdiv[diff] + (1 << (Shift - 1))) >> Shift;
            hue += hue < 0 ? 180 : 0;
            int H = lutH[hue], S = lutS[s], V = lutV[v];
            // OpenCV's 8-bit HSV→RGB in float: s and v scaled to [0, 1], 1 − s·x as one fused
            // multiply-add (as the compiled library computes it), the result scaled back by 255.
            if (!simd && S == 0) { p[i] = p[i + 1] = p[i + 2] = (byte)V; continue; }
            float sf = S * (1f / 255f), vf = V * (1f / 255f);
            float rr = vf * MathF.FusedMultiplyAdd(-sf, cr[H], 1f), gg = vf * MathF.FusedMultiplyAdd(-sf, cg[H], 1f), bb = vf * MathF.FusedMultiplyAdd(-sf, cb[H], 1f);
            if (simd) { p[i] = (byte)(int)(rr * 255f); p[i + 1] = (byte)(int)(gg * 255f); p[i + 2] = (byte)(int)(bb * 255f); }
            else { p[i] = (byte)MathF.Round(rr * 255f); p[i + 1] = (byte)MathF.Round(gg * 255f); p[i + 2] = (byte)MathF.Round(bb * 255f); }
        }
    }
}
