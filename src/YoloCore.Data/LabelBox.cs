namespace YoloCore.Data;

/// A labelled box in pixel corners (x1, y1, x2, y2) of the image being augmented.
public struct LabelBox(float cls, float x1, float y1, float x2, float y2)
{
    public float Class = cls, X1 = x1, Y1 = y1, X2 = x2, Y2 = y2;

    public readonly float Width => X2 - X1;
    public readonly float Height => Y2 - Y1;

    /// From normalised `class xc yc w h` rows scaled to a w×h image placed at (padX, padY)
    /// (YOLOv5's xywhn2xyxy).
    public static List<LabelBox> FromNormalized(ReadOnlySpan<float> rows, double w, double h, double padX = 0, double padY = 0)
    {
        var boxes = new List<LabelBox>(rows.Length / 5 + 4);
        for (int i = 0; i + 4 < rows.Length; i += 5)
        {
            double xc = rows[i + 1], yc = rows[i + 2], bw = rows[i + 3], bh = rows[i + 4];
            boxes.Add(new LabelBox(rows[i], (float)(w * (xc - bw / 2) + padX), (float)(h * (yc - bh / 2) + padY),
                (float)(w * (xc + bw / 2) + padX), (float)(h * (yc + bh / 2) + padY)));
        }
        return boxes;
    }

    /// Back to normalised `class xc yc w h` rows of a w×h image, clipping corners to
    /// [0, w - 0.001] × [0, h - 0.001] first (YOLOv5's xyxy2xywhn(clip=True, eps=1e-3)).
    public static float[] ToNormalized(List<LabelBox> boxes, int w, int h)
    {
        var rows = new float[boxes.Count * 5];
        const double eps = 1e-3;
        for (int i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            double x1 = Math.Clamp(b.X1, 0, w - eps), x2 = Math.Clamp(b.X2, 0, w - eps);
            double y1 = Math.Clamp(b.Y1, 0, h - eps), y2 = Math.Clamp(b.Y2, 0, h - eps);
            rows[i * 5] = b.Class;
            rows[i * 5 + 1] = (float)((x1 + x2) / 2 / w);
            rows[i * 5 + 2] = (float)((y1 + y2) / 2 / h);
            rows[i * 5 + 3] = (float)((x2 - x1) / w);
            rows[i * 5 + 4] = (float)((y2 - y1) / h);
        }
        return rows;
    }
}
