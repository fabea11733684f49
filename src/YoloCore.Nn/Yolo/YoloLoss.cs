namespace YoloCore.Nn.Yolo;

/// The loss and its parts: Total = (box + obj + cls)·batch, with the three items after their gains.
/// Items holds (total, box, obj, cls) on the loss's device, so one read gives all four; the values
/// are read when first asked for (on a GPU that waits for the queued work), which must be before
/// the tensors' scope ends.
public sealed class LossResult(Tensor total, Tensor items)
{
    public Tensor Total { get; } = total;
    public Tensor Items { get; } = items;
    double[]? values;
    double[] Values => values ??= Items.ToDoubles();
    public double TotalValue => Values[0];
    public double Box => Values[1];
    public double Obj => Values[2];
    public double Cls => Values[3];

    /// Items from the four scalars (detached: they are for reporting).
    public static Tensor ItemsOf(Tensor total, Tensor box, Tensor obj, Tensor cls)
    {
        using var _ = Autograd.GradMode.NoGrad();
        return Ops.Concat([total.Detach().Reshape(1), box.Detach().Reshape(1), obj.Detach().Reshape(1), cls.Detach().Reshape(1)], 0);
    }
}

/// YOLOv5 v7.0's ComputeLoss: for each level, the predictions at the assigned cells give a box
/// loss (1 - CIoU by default), class BCE against label-smoothed one-hot targets, and every cell an
/// objectness BCE against the detached, clamped IoU of its assigned prediction (gr = 1); levels are
/// balanced [4, 1, 0.4] and the three parts scaled by the hyperparameter gains.
public sealed class YoloLoss(Detect detect, LossHyperparameters hyp)
{
    public LossHyperparameters Hyp { get; } = hyp;

    // The anchors in grid units, read from Detect at the first Compute (after any weights or
    // resume state are loaded) and kept: reading them every step would wait for the forward pass.
    double[]? anchors;

    /// Set in data-parallel training: the box and class means then divide by each level's target
    /// count summed over all ranks (over the world size), not the local count, so that N ranks
    /// with batch B give exactly the gradient of one process with batch N·B. (YOLOv5 divides by
    /// the local count, which differs whenever the ranks' targets differ in number.)
    public ICommunicator? Distributed { get; set; }

    /// heads: Detect's raw outputs [B, na, ny, nx, 5 + nc]; targets: n rows of
    /// (image, class, x, y, w, h) normalised to [0, 1] (host values, as the loader delivers them).
    /// Each level runs as one fused op (Ops.YoloLossLevel: a few kernels on the GPU).
    public LossResult Compute(IReadOnlyList<Tensor> heads, double[] targets)
    {
        if (Hyp.FlGamma > 0) throw new NotSupportedException("focal loss (fl_gamma > 0) is not implemented; YOLOv5's default hyperparameters use fl_gamma 0");
        if (targets.Length % 6 != 0) throw new ArgumentException($"targets must be rows of 6 values, got {targets.Length} values");
        int nl = detect.Nl, na = detect.Na, nc = detect.Nc, no = detect.No;
        double[] balance = nl == 3 ? [4.0, 1.0, 0.4] : [4.0, 1.0, 0.25, 0.06, 0.02];
        var terms = new YoloLossTerms(nc, Hyp.Iou, 1.0 - 0.5 * Hyp.LabelSmoothing, 0.5 * Hyp.LabelSmoothing, Hyp.ClsPw, Hyp.ObjPw, Hyp.Gr);
        var anchors = this.anchors ??= detect.Anchors.ToDoubles();
        int bs = heads[0].Shape[0];
        Tensor? total = null, parts = null;
        var levels = Enumerable.Range(0, nl).Select(i =>
            TargetBuilder.Build(targets, na, heads[i].Shape[2], heads[i].Shape[3], anchors[(i * na * 2)..((i + 1) * na * 2)], Hyp.AnchorT)).ToArray();
        var counts = levels.Select(l => (double)l.Count).ToArray();
        // Data parallel: every rank divides by the mean target count over ranks, summed on the
        // device and used there (no read back), so 2 ranks × 8 images equal 1 × 16.
        Tensor? global = null;
        int world = Distributed?.WorldSize ?? 1;
        if (world > 1)
        {
            global = Tensor.FromDoubles(counts, new Shape(nl), DType.Float32, heads[0].Device);
            Distributed!.AllReduceSum(global);
        }
        for (int i = 0; i < nl; i++)
        {
            var p = heads[i];
            var lt = levels[i];
            int n = lt.Count;
            double share = counts[i]; // this rank's count; under data parallel the device's mean replaces it
            var flat = p.Reshape(-1, no);
            var (sums, _) = flat.YoloLossLevel(
                Tensor.FromArray(lt.Rows, n).To(p.Device), Tensor.FromDoubles(lt.Box, new Shape(n, 4), p.DType, p.Device),
                Tensor.FromDoubles(lt.Anchor, new Shape(n, 2), p.DType, p.Device), Tensor.FromArray(lt.Class, n).To(p.Device), terms);
            // lbox = mean(1 - IoU) over targets, lobj = mean BCE over cells (balanced per level),
            // lcls = mean BCE over targets × classes (only when nc > 1), each times its gain.
            double wBox = share > 0 ? Hyp.Box / share : 0, wObj = Hyp.Obj * balance[i] / flat.Shape[0], wCls = share > 0 && nc > 1 ? Hyp.Cls / (share * nc) : 0;
            Tensor weights, stepWeights; // for the items; for the loss that backward runs on (× batch size)
            if (global is null)
            {
                weights = Tensor.FromDoubles([wBox, wObj, wCls], new Shape(3), p.DType, p.Device);
                stepWeights = Tensor.FromDoubles([wBox * bs, wObj * bs, wCls * bs], new Shape(3), p.DType, p.Device);
            }
            else
            {
                // share = global / world on the device; a level no rank has targets on has zero
                // box and class sums, so clamping its count to 1 only keeps the weight finite.
                using var _ = Autograd.GradMode.NoGrad();
                var g = global.Slice(0, i, 1).Clamp(1).Cast(p.DType);
                var one = Tensor.Ones(new Shape(1), p.DType, p.Device);
                weights = Tensor.FromDoubles([Hyp.Box * world, 0, nc > 1 ? Hyp.Cls * world / nc : 0], new Shape(3), p.DType, p.Device) / Ops.Concat([g, one, g], 0)
                    + Tensor.FromDoubles([0, wObj, 0], new Shape(3), p.DType, p.Device);
                stepWeights = weights * bs;
            }
            var term = (sums * stepWeights).Sum();
            total = total is null ? term : total + term;
            using (Autograd.GradMode.NoGrad())
            {
                var part = sums.Detach() * weights;
                parts = parts is null ? part : parts + part;
            }
        }
        global?.Dispose();
        using (Autograd.GradMode.NoGrad())
            return new LossResult(total!, Ops.Concat([total!.Detach().Reshape(1), parts!], 0));
    }

    /// The same loss written with autograd ops, one YOLOv5 expression at a time: the readable
    /// reference the fused op is tested against.
    public LossResult ComputeComposite(IReadOnlyList<Tensor> heads, double[] targets)
    {
        if (Hyp.FlGamma > 0) throw new NotSupportedException("focal loss (fl_gamma > 0) is not implemented; YOLOv5's default hyperparameters use fl_gamma 0");
        if (targets.Length % 6 != 0) throw new ArgumentException($"targets must be rows of 6 values, got {targets.Length} values");
        int nl = detect.Nl, na = detect.Na, nc = detect.Nc, no = detect.No;
        double[] balance = nl == 3 ? [4.0, 1.0, 0.4] : [4.0, 1.0, 0.25, 0.06, 0.02];
        double cp = 1.0 - 0.5 * Hyp.LabelSmoothing, cn = 0.5 * Hyp.LabelSmoothing;
        var anchors = detect.Anchors.ToDoubles();
        var first = heads[0];
        int bs = first.Shape[0];
        Tensor? lbox = null, lobj = null, lcls = null;

        static Tensor Add(Tensor? sum, Tensor term) => sum is null ? term : sum + term;

        for (int i = 0; i < nl; i++)
        {
            var p = heads[i];
            int ny = p.Shape[2], nx = p.Shape[3];
            var lt = TargetBuilder.Build(targets, na, ny, nx, anchors[(i * na * 2)..((i + 1) * na * 2)], Hyp.AnchorT);
            var flat = p.Reshape(-1, no);
            var tobj = Tensor.Zeros(new Shape(flat.Shape[0], 1), p.DType, p.Device);
            if (lt.Count > 0)
            {
                int n = lt.Count;
                var rows = Tensor.FromArray(lt.Rows, n).To(p.Device);
                var ps = flat.IndexSelect(rows);
                var parts = ps.Split(-1, 2, 2, 1, nc);
                var pxy = parts[0].Sigmoid() * 2.0 - 0.5;
                var anchorT = Tensor.FromDoubles(lt.Anchor, new Shape(n, 2), p.DType, p.Device);
                var pwh = (parts[1].Sigmoid() * 2.0).Square() * anchorT;
                var pbox = Ops.Concat([pxy, pwh], -1);
                var tbox = Tensor.FromDoubles(lt.Box, new Shape(n, 4), p.DType, p.Device);
                var iou = BoxIou.Compute(pbox, tbox, Hyp.Iou);
                lbox = Add(lbox, (1.0 - iou).Mean());
                using (Autograd.GradMode.NoGrad())
                {
                    var score = iou.Detach().Clamp(0);
                    if (Hyp.Gr < 1) score = score * Hyp.Gr + (1 - Hyp.Gr);
                    tobj = tobj.IndexCopy(rows, score);
                }
                if (nc > 1)
                {
                    var t = new double[n * nc];
                    Array.Fill(t, cn);
                    for (int k = 0; k < n; k++) t[k * nc + lt.Class[k]] = cp;
                    var tc = Tensor.FromDoubles(t, new Shape(n, nc), p.DType, p.Device);
                    lcls = Add(lcls, parts[3].BceWithLogits(tc, Hyp.ClsPw).Mean());
                }
            }
            var obj = flat.Slice(-1, 4, 1).BceWithLogits(tobj, Hyp.ObjPw).Mean();
            lobj = Add(lobj, obj * balance[i]);
        }
        var zero = Tensor.Zeros(new Shape(), first.DType, first.Device);
        var box = (lbox ?? zero) * Hyp.Box;
        var objL = lobj! * Hyp.Obj;
        var cls = (lcls ?? zero) * Hyp.Cls;
        var total = (box + objL + cls) * bs;
        return new LossResult(total, LossResult.ItemsOf(total, box, objL, cls));
    }
}
