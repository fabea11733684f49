namespace YoloCore.Data;

/// YOLOv5's random_perspective: one matrix M = T·S·R·P·C (centre, perspective, rotation+scale,
/// shear, translation) warps the image into a (h + 2·borderY)×(w + 2·borderX) output with grey
/// border; each box's four corners go through M, the enclosing box is clipped to the output and
/// kept if BoxCandidates accepts it against the original box scaled by the random scale.
/// The random draws happen in YOLOv5's order so the distributions match.
public static class RandomPerspective
{
    public static double[] Matrix(Rng rng, AugmentHyp hyp, int inWidth, int inHeight, int outWidth, int outHeight, out double scale)
    {
        double U(double lo, double hi) => lo + (hi - lo) * rng.NextDouble();
        double[] C = [1, 0, -inWidth / 2.0, 0, 1, -inHeight / 2.0, 0, 0, 1];
        double[] P = [1, 0, 0, 0, 1, 0, U(-hyp.Perspective, hyp.Perspective), U(-hyp.Perspective, hyp.Perspective), 1];
        double a = U(-hyp.Degrees, hyp.Degrees) * Math.PI / 180;
        scale = U(1 - hyp.Scale, 1 + hyp.Scale);
        // cv2.getRotationMatrix2D(center=(0, 0), angle=a, scale=s)
        double al = scale * Math.Cos(a), be = scale * Math.Sin(a);
        double[] R = [al, be, 0, -be, al, 0, 0, 0, 1];
        double shx = Math.Tan(U(-hyp.Shear, hyp.Shear) * Math.PI / 180), shy = Math.Tan(U(-hyp.Shear, hyp.Shear) * Math.PI / 180);
        double[] S = [1, shx, 0, shy, 1, 0, 0, 0, 1];
        double tx = U(0.5 - hyp.Translate, 0.5 + hyp.Translate) * outWidth, ty = U(0.5 - hyp.Translate, 0.5 + hyp.Translate) * outHeight;
        double[] T = [1, 0, tx, 0, 1, ty, 0, 0, 1];
        return Warp.Multiply(T, Warp.Multiply(S, Warp.Multiply(R, Warp.Multiply(P, C))));
    }

    /// Warps im (the caller keeps ownership) and transforms and filters boxes in place.
    /// border is YOLOv5's (borderY, borderX): negative shrinks the output (mosaic uses −size/2).
    public static RgbImage Apply(RgbImage im, List<LabelBox> boxes, Rng rng, AugmentHyp hyp, int borderY = 0, int borderX = 0)
    {
        int outH = im.Height + 2 * borderY, outW = im.Width + 2 * borderX;
        var m = Matrix(rng, hyp, im.Width, im.Height, outW, outH, out double s);
        bool identity = borderX == 0 && borderY == 0 && IsIdentity(m);
        var result = identity ? im.Clone() : Warp.Apply(im, m, outW, outH);
        TransformBoxes(boxes, m, s, outW, outH);
        return result;
    }

    public static void TransformBoxes(List<LabelBox> boxes, double[] m, double scale, int outW, int outH)
    {
        int kept = 0;
        for (int i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            double x1 = double.MaxValue, y1 = double.MaxValue, x2 = double.MinValue, y2 = double.MinValue;
            foreach (var (cx, cy) in new[] { (b.X1, b.Y1), (b.X2, b.Y2), (b.X1, b.Y2), (b.X2, b.Y1) })
            {
                var (tx, ty) = Warp.Transform(m, cx, cy);
                x1 = Math.Min(x1, tx); x2 = Math.Max(x2, tx);
                y1 = Math.Min(y1, ty); y2 = Math.Max(y2, ty);
            }
            x1 = Math.Clamp(x1, 0, outW); x2 = Math.Clamp(x2, 0, outW);
            y1 = Math.Clamp(y1, 0, outH); y2 = Math.Clamp(y2, 0, outH);
            if (!BoxCandidates.Keep(b.Width * scale, b.Height * scale, x2 - x1, y2 - y1)) continue;
            boxes[kept++] = new LabelBox(b.Class, (float)x1, (float)y1, (float)x2, (float)y2);
        }
        boxes.RemoveRange(kept, boxes.Count - kept);
    }

    static bool IsIdentity(double[] m)
    {
        for (int i = 0; i < 9; i++)
            if (m[i] != (i % 4 == 0 ? 1 : 0)) return false;
        return true;
    }
}
