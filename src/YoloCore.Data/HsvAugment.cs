namespace YoloCore.Data;

/// YOLOv5's augment_hsv: random gains r = 1 + U(−1, 1)·(hgain, sgain, vgain) become three 256-entry
/// lookup tables (hue ·r mod 180, saturation and value ·r clipped to 255), applied in OpenCV's
/// 8-bit HSV (hue 0..179). The RGB→HSV step uses OpenCV's integer formulas and the HSV→RGB step
/// its float formulas, so the result matches cv2.cvtColor up to rounding.
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

    public static void ApplyGains(RgbImage im, double rh, double rs, double rv)
    {
        Span<byte> lutH = stackalloc byte[256], lutS = stackalloc byte[256], lutV = stackalloc byte[256];
        for (int x = 0; x < 256; x++)
        {
            double h = x * rh % 180;
            if (h < 0) h += 180;   // Python's % is never negative
            lutH[x] = (byte)(int)h;
            lutS[x] = (byte)(int)Math.Clamp(x * rs, 0, 255);
            lutV[x] = (byte)(int)Math.Clamp(x * rv, 0, 255);
        }
        // Hue to (sector, fraction) once: the 8-bit hue has only 180 values.
        Span<int> sector = stackalloc int[256];
        Span<float> frac = stackalloc float[256];
        for (int h = 0; h < 256; h++)
        {
            float hh = h * (6f / 180f);
            int sct = (int)MathF.Floor(hh);
            frac[h] = hh - sct;
            sector[h] = sct % 6;
        }
        var p = im.Pixels;
        // cv2.cvtColor converts row by row, 32 pixels at a time with SIMD (truncating) and the rest of
        // each row with scalar code (rounding); both are reproduced so results match bit for bit.
        int simdEnd = im.Width / 32 * 32 * 3;
        for (int i = 0; i < p.Length; i += 3)
        {
            bool simd = i % im.Stride < simdEnd;
            int r = p[i], g = p[i + 1], b = p[i + 2];
            int v = Math.Max(Math.Max(r, g), b), vmin = Math.Min(Math.Min(r, g), b);
            int diff = v - vmin;
            int s = (diff * sdiv[v] + (1 << (Shift - 1))) >> Shift;
            int hue;
            if (diff == 0) hue = 0;
            else
            {
                hue = v == r ? g - b : v == g ? b - r + 2 * diff : r - g + 4 * diff;
                hue = (hue * hdiv[diff] + (1 << (Shift - 1))) >> Shift;
                if (hue < 0) hue += 180;
            }
            int H = lutH[hue], S = lutS[s], V = lutV[v];
            // OpenCV's 8-bit HSV→RGB in float: s and v scaled to [0, 1], 1 − s·x as one fused
            // multiply-add (as the compiled library computes it), the result scaled back by 255.
            if (!simd && S == 0) { p[i] = p[i + 1] = p[i + 2] = (byte)V; continue; }
            float sf = S * (1f / 255f), vf = V * (1f / 255f);
            float f = frac[H];
            float t0 = vf, t1 = vf * (1f - sf), t2 = vf * MathF.FusedMultiplyAdd(-sf, f, 1f), t3 = vf * MathF.FusedMultiplyAdd(-sf, 1f - f, 1f);
            float rr, gg, bb;
            switch (sector[H])
            {
                case 0: rr = t0; gg = t3; bb = t1; break;
                case 1: rr = t2; gg = t0; bb = t1; break;
                case 2: rr = t1; gg = t0; bb = t3; break;
                case 3: rr = t1; gg = t2; bb = t0; break;
                case 4: rr = t3; gg = t1; bb = t0; break;
                default: rr = t0; gg = t1; bb = t2; break;
            }
            if (simd) { p[i] = (byte)(int)(rr * 255f); p[i + 1] = (byte)(int)(gg * 255f); p[i + 2] = (byte)(int)(bb * 255f); }
            else { p[i] = (byte)MathF.Round(rr * 255f); p[i + 1] = (byte)MathF.Round(gg * 255f); p[i + 2] = (byte)MathF.Round(bb * 255f); }
        }
    }
}
