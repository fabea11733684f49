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

    /// heads: Detect's raw outputs [B, na, ny, nx, 5 + nc], or [B, ny, nx, na·(5 + nc)] (anchors
    /// last, Detect.ForwardHeads); targets: n rows of (image, class, x, y, w, h) normalised to
    /// [0, 1] (host values, as the loader delivers them). Prepare on the host, one upload, then
    /// the device part.
    public LossResult Compute(IReadOnlyList<Tensor> heads, double[] targets)
    {
        bool anchorsLast = heads[0].Rank == 4;
        var grids = heads.Select(h => anchorsLast ? (h.Shape[1], h.Shape[2]) : (h.Shape[2], h.Shape[3])).ToArray();
        var prepared = Prepare(targets, heads[0].Shape[0], grids, anchorsLast);
        var dtype = heads[0].DType == DType.Float16 ? DType.Float32 : heads[0].DType; // the loss's own dtype (YoloLossLevel)
        return Compute(heads, LossInputs.Upload(prepared, dtype, heads[0].Device));
    }

    /// The host half: build_targets for each level of a batch of `batch` images whose levels have
    /// the given grids, and the weights of each level's sums (gains over target and cell counts,
    /// in double as YOLOv5 computes them). anchorsLast: rows for heads in the convolutions' layout.
    public PreparedTargets Prepare(double[] targets, int batch, IReadOnlyList<(int Ny, int Nx)> grids, bool anchorsLast = false)
    {
        if (Hyp.FlGamma > 0) throw new NotSupportedException("focal loss (fl_gamma > 0) is not implemented; YOLOv5's default hyperparameters use fl_gamma 0");
        if (targets.Length % 6 != 0) throw new ArgumentException($"targets must be rows of 6 values, got {targets.Length} values");
        int nl = detect.Nl, na = detect.Na, nc = detect.Nc;
        if (grids.Count != nl) throw new ArgumentException($"{grids.Count} grids for {nl} levels");
        double[] balance = nl == 3 ? [4.0, 1.0, 0.4] : [4.0, 1.0, 0.25, 0.06, 0.02];
        var anchors = this.anchors ??= detect.Anchors.ToDoubles();
        var levels = new LevelTargets[nl];
        var weights = new double[nl][];
        var stepWeights = new double[nl][];
        for (int i = 0; i < nl; i++)
        {
            var (ny, nx) = grids[i];
            levels[i] = TargetBuilder.Build(targets, na, ny, nx, anchors[(i * na * 2)..((i + 1) * na * 2)], Hyp.AnchorT, anchorsLast);
            // lbox = mean(1 - IoU) over targets, lobj = mean BCE over cells (balanced per level),
            // lcls = mean BCE over targets × classes (only when nc > 1), each times its gain.
            double share = levels[i].Count;
            double wBox = share > 0 ? Hyp.Box / share : 0, wObj = Hyp.Obj * balance[i] / ((double)batch * na * ny * nx), wCls = share > 0 && nc > 1 ? Hyp.Cls / (share * nc) : 0;
            weights[i] = [wBox, wObj, wCls];
            stepWeights[i] = [wBox * batch, wObj * batch, wCls * batch];
        }
        return new PreparedTargets(levels, weights, stepWeights, levels.Select(l => (double)l.Count).ToArray());
    }

    /// The device half: every level in one fused op (YoloLossOp.YoloLoss: three launches on the
    /// GPU, forward and backward), its sums weighted and added there. It makes no host copy, so it
    /// can be captured in a CUDA graph. inputs' rows must number the heads' layout (Prepare's
    /// anchorsLast).
    public LossResult Compute(IReadOnlyList<Tensor> heads, LossInputs inputs)
    {
        int nl = detect.Nl, nc = detect.Nc, no = detect.No;
        var terms = new YoloLossTerms(nc, Hyp.Iou, 1.0 - 0.5 * Hyp.LabelSmoothing, 0.5 * Hyp.LabelSmoothing, Hyp.ClsPw, Hyp.ObjPw, Hyp.Gr);
        int bs = heads[0].Shape[0];
        var levels = new YoloLossLevel[nl];
        for (int i = 0; i < nl; i++)
        {
            var l = inputs.Levels[i];
            levels[i] = new YoloLossLevel(heads[i].Reshape(-1, no), l.Rows, l.Box, l.Anchor, l.Class, l.Count);
        }
        // The items' weights; the loss that backward runs on takes them × batch size.
        var (weights, stepWeights) = Distributed is { WorldSize: > 1 } ? GlobalWeights(inputs, inputs.Weights.DType, bs) : (inputs.Weights, inputs.StepWeights);
        var (total, items, iou) = YoloLossOp.YoloLoss(levels, terms, weights, stepWeights);
        foreach (var t in iou) t.Dispose();
        return new LossResult(total, items);
    }

    /// Data parallel: every rank divides the box and class sums by the mean target count over
    /// ranks (global / world), summed on the device and used there (no read back), so 2 ranks × 8
    /// images equal 1 × 16. A level no rank has targets on has zero box and class sums, so
    /// clamping its count to 1 only keeps the weight finite.
    (Tensor Weights, Tensor StepWeights) GlobalWeights(LossInputs inputs, DType dtype, int bs)
    {
        using var _ = Autograd.GradMode.NoGrad();
        int nl = detect.Nl, nc = detect.Nc, world = Distributed!.WorldSize;
        using var global = inputs.Counts.Clone();
        Distributed.AllReduceSum(global);
        var device = global.Device;
        var g = global.Clamp(1).Cast(dtype).Reshape(nl, 1);
        var gains = Tensor.FromDoubles([Hyp.Box * world, 0, nc > 1 ? Hyp.Cls * world / nc : 0], new Shape(1, 3), dtype, device);
        var objOnly = Tensor.FromDoubles([0, 1, 0], new Shape(1, 3), dtype, device);
        var weights = gains / Ops.Concat([g, Tensor.Ones(new Shape(nl, 1), dtype, device), g], 1) + inputs.Weights * objOnly;
        return (weights, weights * bs);
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
