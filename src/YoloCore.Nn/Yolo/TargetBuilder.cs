namespace YoloCore.Nn.Yolo;

/// The predictions one level is trained on: rows of the flattened head [B·na·ny·nx, 5 + nc] and
/// what each should predict (box relative to its cell, anchor in grid units, class).
public sealed record LevelTargets(int[] Rows, double[] Box, double[] Anchor, int[] Class)
{
    public int Count => Rows.Length;
}

/// YOLOv5 v7.0's build_targets on the host: each target is tried against every anchor of a level
/// (kept when the width/height ratios to the anchor are within anchor_t), then assigned to its own
/// cell and the two neighbouring cells nearest its centre (offset 0.5). Row order matches PyTorch's
/// (offset-major, then anchor, then target), which decides who wins when two targets share a cell.
public static class TargetBuilder
{
    static readonly (int X, int Y)[] offsets = [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)];

    /// targets: n rows of (image, class, x, y, w, h) normalised to [0, 1]; anchors: [na, 2] grid units.
    /// Rows number the head's (image, anchor, y, x) in [B, na, ny, nx] order, or with anchorsLast in
    /// the head convolution's [B, ny, nx, na] order (Detect.ForwardHeads).
    public static LevelTargets Build(double[] targets, int na, int ny, int nx, double[] anchors, double anchorT, bool anchorsLast = false)
    {
        const double g = 0.5;
        int nt = targets.Length / 6;
        var kept = new List<(int A, int T)>();
        for (int a = 0; a < na; a++)
            for (int t = 0; t < nt; t++)
            {
                double rw = targets[t * 6 + 4] * nx / anchors[a * 2], rh = targets[t * 6 + 5] * ny / anchors[a * 2 + 1];
                if (Math.Max(Math.Max(rw, 1 / rw), Math.Max(rh, 1 / rh)) < anchorT) kept.Add((a, t));
            }
        var rows = new List<int>();
        var box = new List<double>();
        var anchor = new List<double>();
        var cls = new List<int>();
        for (int o = 0; o < offsets.Length; o++)
            foreach (var (a, t) in kept)
            {
                double gx = targets[t * 6 + 2] * nx, gy = targets[t * 6 + 3] * ny;
                double gxi = nx - gx, gyi = ny - gy;
                bool use = o switch
                {
                    0 => true,
                    1 => gx % 1 < g && gx > 1,
                    2 => gy % 1 < g && gy > 1,
                    3 => gxi % 1 < g && gxi > 1,
                    _ => gyi % 1 < g && gyi > 1,
                };
                if (!use) continue;
                // (gxy - offset).long(): truncation toward zero, then clamped into the grid.
                int gi = (int)(gx - offsets[o].X * g), gj = (int)(gy - offsets[o].Y * g);
                int b = (int)targets[t * 6];
                // YOLOv5 clamps the cell in place before taking the offset from it, so a centre
                // exactly on the far edge (x = 1) is measured from the last cell.
                gi = Math.Clamp(gi, 0, nx - 1);
                gj = Math.Clamp(gj, 0, ny - 1);
                double bx = gx - gi, by = gy - gj;
                rows.Add(anchorsLast ? ((b * ny + gj) * nx + gi) * na + a : ((b * na + a) * ny + gj) * nx + gi);
                box.AddRange([bx, by, targets[t * 6 + 4] * nx, targets[t * 6 + 5] * ny]);
                anchor.AddRange([anchors[a * 2], anchors[a * 2 + 1]]);
                cls.Add((int)targets[t * 6 + 1]);
            }
        return new LevelTargets(rows.ToArray(), box.ToArray(), anchor.ToArray(), cls.ToArray());
    }
}
