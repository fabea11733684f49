namespace YoloCore.Data;

/// cv2.warpAffine / cv2.warpPerspective with bilinear sampling and a constant border:
/// dst(x, y) = src(M⁻¹·(x, y, 1)) with integer pixel coordinates, as OpenCV defines them.
/// An axis-aligned affine (YOLOv5's default: scale and translate only) runs as two separable
/// passes over precomputed tables; rotation, shear and perspective sample per pixel with
/// 1/32-pixel fixed-point positions like OpenCV's INTER_BITS. Positions and weights are computed
/// as OpenCV computes them, so the output equals cv2's bit for bit (see OpenCvGoldenTests).
public static class Warp
{
    const int CoefBits = 11, CoefScale = 1 << CoefBits;

    /// m: the forward 3×3 matrix, row-major. Returns a new width×height image.
    public static RgbImage Apply(RgbImage src, double[] m, int width, int height, byte border = 114)
    {
        bool perspective = m[6] != 0 || m[7] != 0 || m[8] != 1;
        var inv = perspective ? Invert(m) : InvertAffine(m);
        var dst = new RgbImage(width, height);
        if (!perspective && m[1] == 0 && m[3] == 0) AxisAligned(src, inv, dst, border);
        else General(src, inv, dst, border, perspective);
        return dst;
    }

    static unsafe void AxisAligned(RgbImage src, double[] inv, RgbImage dst, byte border)
    {
        int sw = src.Width, sh = src.Height, w = dst.Width, h = dst.Height;
        // Per output column: byte offsets of both taps (0 when outside), their weights (0 when
        // outside) and the border's share, so the inner loop has no branches.
        // Source positions in 1/32 pixel exactly as cv2.warpAffine computes them (AB_BITS = 10
        // fixed point, rounded to INTER_BITS = 5), and weights (32 − f)·64 so the 11-bit passes give
        // OpenCV's 15-bit bilinear result bit for bit.
        int rowX = Round1024(inv[2]) + 16;
        var x0s = new int[w]; var x1s = new int[w]; var w0 = new int[w]; var w1 = new int[w]; var k = new int[w];
        for (int x = 0; x < w; x++)
        {
            int X = (rowX + Round1024(inv[0] * x)) >> 5;
            int x0 = X >> 5, fx = X & 31;
            int a0 = (32 - fx) * 64, a1 = fx * 64;
            // A tap outside the source reads pixel 0 with weight 0 and adds the border instead.
            bool in0 = x0 >= 0 && x0 < sw, in1 = x0 + 1 >= 0 && x0 + 1 < sw;
            x0s[x] = in0 ? x0 : 0; w0[x] = in0 ? a0 : 0;
            x1s[x] = in1 ? x0 + 1 : 0; w1[x] = in1 ? a1 : 0;
            k[x] = border * ((in0 ? 0 : a0) + (in1 ? 0 : a1));
        }
        var taps = new HorizontalTaps(x0s, x1s, w0, w1, k);
        var borderRow = new int[w * 3];
        Array.Fill(borderRow, border * CoefScale);
        var rowA = new int[w * 3]; var rowB = new int[w * 3];
        int idxA = int.MinValue, idxB = int.MinValue;
        fixed (byte* s = src.Array, d = dst.Array)
        {
            for (int y = 0; y < h; y++)
            {
                int Y = (Round1024(inv[4] * y + inv[5]) + 16) >> 5;
                int y0 = Y >> 5, b1 = (Y & 31) * 64, b0 = CoefScale - b1;
                byte* o = d + (long)y * w * 3;
                if (y0 + 1 < 0 || y0 >= sh) { new Span<byte>(o, w * 3).Fill(border); continue; }
                if (idxA != y0 && idxB == y0) { (rowA, rowB) = (rowB, rowA); (idxA, idxB) = (idxB, idxA); }
                int[] r0 = borderRow, r1 = borderRow;
                fixed (int* pa = rowA, pb = rowB)
                {
                    if (y0 >= 0)
                    {
                        if (idxA != y0) { taps.Run(s + (long)y0 * sw * 3, pa); idxA = y0; }
                        r0 = rowA;
                    }
                    if (y0 + 1 < sh && b1 != 0)
                    {
                        if (idxB != y0 + 1) { taps.Run(s + (long)(y0 + 1) * sw * 3, pb); idxB = y0 + 1; }
                        r1 = rowB;
                    }
                }
                fixed (int* ra = r0, rb = r1) RowBlend.Blend(ra, rb, b0, b1, o, w * 3);
            }
        }
    }

    static unsafe void General(RgbImage src, double[] inv, RgbImage dst, byte border, bool perspective)
    {
        int sw = src.Width, sh = src.Height, w = dst.Width, h = dst.Height;
        var adelta = new int[w]; var bdelta = new int[w];
        for (int x = 0; x < w; x++) { adelta[x] = Round1024(inv[0] * x); bdelta[x] = Round1024(inv[3] * x); }
        fixed (byte* s = src.Array, d = dst.Array)
        {
            for (int y = 0; y < h; y++)
            {
                byte* o = d + (long)y * w * 3;
                int rowX = Round1024(inv[1] * y + inv[2]) + 16, rowY = Round1024(inv[4] * y + inv[5]) + 16;
                for (int x = 0; x < w; x++, o += 3)
                {
                    // Positions in 1/32 pixel, as cv2.warpAffine / cv2.warpPerspective compute them.
                    int X, Y;
                    if (perspective)
                    {
                        double z = inv[6] * x + inv[7] * y + inv[8];
                        z = z != 0 ? 32 / z : 0;
                        X = (int)Math.Round(Math.Clamp((inv[0] * x + inv[1] * y + inv[2]) * z, -1e8, 1e8));
                        Y = (int)Math.Round(Math.Clamp((inv[3] * x + inv[4] * y + inv[5]) * z, -1e8, 1e8));
                    }
                    else
                    {
                        X = (rowX + adelta[x]) >> 5;
                        Y = (rowY + bdelta[x]) >> 5;
                    }
                    int x0 = X >> 5, y0 = Y >> 5, fx = X & 31, fy = Y & 31;
                    int c00 = (32 - fx) * (32 - fy), c01 = fx * (32 - fy), c10 = (32 - fx) * fy, c11 = fx * fy;
                    if (x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh)
                    {
                        byte* p = s + ((long)y0 * sw + x0) * 3, q = p + sw * 3;
                        o[0] = (byte)((p[0] * c00 + p[3] * c01 + q[0] * c10 + q[3] * c11 + 512) >> 10);
                        o[1] = (byte)((p[1] * c00 + p[4] * c01 + q[1] * c10 + q[4] * c11 + 512) >> 10);
                        o[2] = (byte)((p[2] * c00 + p[5] * c01 + q[2] * c10 + q[5] * c11 + 512) >> 10);
                        continue;
                    }
                    if (x0 + 1 < 0 || y0 + 1 < 0 || x0 >= sw || y0 >= sh) { o[0] = o[1] = o[2] = border; continue; }
                    for (int c = 0; c < 3; c++)
                    {
                        int v = Tap(s, sw, sh, x0, y0, c, border) * c00 + Tap(s, sw, sh, x0 + 1, y0, c, border) * c01
                              + Tap(s, sw, sh, x0, y0 + 1, c, border) * c10 + Tap(s, sw, sh, x0 + 1, y0 + 1, c, border) * c11;
                        o[c] = (byte)((v + 512) >> 10);
                    }
                }
            }
        }
    }

    /// cvRound(v · 1024), saturated: OpenCV's AB_BITS fixed point.
    static int Round1024(double v) => (int)Math.Round(Math.Clamp(v * 1024, -1e9, 1e9));

    /// cv2.invertAffineTransform's formula, so the inverse matches OpenCV's to the last bit.
    static double[] InvertAffine(double[] m)
    {
        double det = m[0] * m[4] - m[1] * m[3];
        if (det == 0) throw new ArgumentException("singular warp matrix");
        double dd = 1 / det;
        double a11 = m[4] * dd, a22 = m[0] * dd, a12 = -m[1] * dd, a21 = -m[3] * dd;
        return [a11, a12, -a11 * m[2] - a12 * m[5], a21, a22, -a21 * m[2] - a22 * m[5], 0, 0, 1];
    }

    static unsafe int Tap(byte* s, int sw, int sh, int x, int y, int c, byte border) =>
        x >= 0 && y >= 0 && x < sw && y < sh ? s[((long)y * sw + x) * 3 + c] : border;

    /// Applies the forward matrix to a point (with the perspective divide).
    public static (double X, double Y) Transform(double[] m, double x, double y)
    {
        double z = m[6] * x + m[7] * y + m[8];
        return ((m[0] * x + m[1] * y + m[2]) / z, (m[3] * x + m[4] * y + m[5]) / z);
    }

    public static double[] Multiply(double[] a, double[] b)
    {
        var r = new double[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                r[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
        return r;
    }

    public static double[] Invert(double[] m)
    {
        double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], i = m[8];
        double A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
        double det = a * A + b * B + c * C;
        if (Math.Abs(det) < 1e-15) throw new ArgumentException("singular warp matrix");
        double k = 1 / det;
        return
        [
            A * k, -(b * i - c * h) * k, (b * f - c * e) * k,
            B * k, (a * i - c * g) * k, -(a * f - c * d) * k,
            C * k, -(a * h - b * g) * k, (a * e - b * d) * k,
        ];
    }
}
