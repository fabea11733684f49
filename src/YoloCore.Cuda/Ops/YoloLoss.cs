using System.Runtime.InteropServices;

namespace YoloCore.Cuda;

// yololoss.cu: YOLOv5's loss over every level in three launches (the weighted total and items in
// one, and the two backward passes), each level on its own blocks (LossLevels).
public sealed unsafe partial class CudaBackend
{
    [StructLayout(LayoutKind.Sequential)]
    struct LossTerms
    {
        public int Classes, IouKind;
        public float Cp, Cn, ClsPw, ObjPw, Gr;

        public static LossTerms From(YoloLossTerms t) => new()
        {
            Classes = t.Classes, IouKind = (int)t.Iou, Cp = (float)t.Cp, Cn = (float)t.Cn, ClsPw = (float)t.ClsPw, ObjPw = (float)t.ObjPw, Gr = (float)t.Gr,
        };
    }

    /// Mirrors yololoss.cu's LossLevels: entry l of each table is level l; the grid is Count × Blocks.
    [StructLayout(LayoutKind.Sequential)]
    struct LossLevels
    {
        public const int Max = 4;
        public int Count, Blocks;
        public fixed ulong Head[Max];
        public fixed ulong GHead[Max];
        public fixed ulong Rows[Max];
        public fixed ulong Box[Max];
        public fixed ulong Anchors[Max];
        public fixed ulong Classes[Max];
        public fixed ulong Real[Max];
        public fixed ulong Iou[Max];
        public fixed long R[Max];
        public fixed int N[Max];

        /// The table for levels (their IoUs, and their head gradients or none), with blocks per level.
        public static LossLevels Of(IReadOnlyList<YoloLossLevel> levels, IReadOnlyList<Tensor> iou, IReadOnlyList<Tensor>? gheads, int blocks)
        {
            if (levels.Count > Max) throw new NotSupportedException($"the fused YOLO loss on CUDA takes at most {Max} levels, got {levels.Count}");
            var t = new LossLevels { Count = levels.Count, Blocks = blocks };
            for (int l = 0; l < levels.Count; l++)
            {
                var v = levels[l];
                t.Head[l] = Ptr(v.Head);
                t.GHead[l] = gheads is null ? 0 : Ptr(gheads[l]);
                (t.Rows[l], t.Box[l], t.Anchors[l], t.Classes[l], t.Real[l], t.Iou[l]) = (PtrOrNull(v.Rows), PtrOrNull(v.Box), PtrOrNull(v.Anchors), PtrOrNull(v.Classes), PtrOrNull(v.Count), PtrOrNull(iou[l]));
                t.R[l] = v.Head.Shape[0];
                t.N[l] = (int)v.Rows.Count;
            }
            return t;
        }
    }

    static void RequireCount(Tensor? count)
    {
        if (count is not null && (count.Count != 1 || count.DType != DType.Int32)) throw new ArgumentException($"the loss's target count must be an int32 scalar, got {count}");
    }

    /// The heads are float32 or float16 (the head convolutions' own outputs under AMP), all of one
    /// dtype; the loss's terms, weights, IoUs and outputs are float32 either way.
    static string HeadSuffix(IReadOnlyList<YoloLossLevel> levels, params Tensor[] float32)
    {
        foreach (var t in float32.Concat(levels.SelectMany(l => new[] { l.Box, l.Anchors })))
            if (t.DType != DType.Float32) throw new ArgumentException($"the fused YOLO loss's weights, IoUs, targets and outputs are float32 on CUDA, got {t}");
        foreach (var l in levels)
        {
            RequireCount(l.Count);
            if (l.Head.DType != levels[0].Head.DType) throw new ArgumentException($"the fused YOLO loss's heads must share a dtype, got {l.Head} and {levels[0].Head}");
        }
        return Suffix(levels[0].Head, "YoloLoss");
    }

    /// Blocks per level: enough for the largest level's rows or targets, within LossSumBlocks in all.
    static int LevelBlocks(IReadOnlyList<YoloLossLevel> levels, Func<YoloLossLevel, long> items, int most) =>
        (int)Math.Clamp((levels.Max(items) + 255) / 256, 1, Math.Max(1, most / levels.Count));

    public void YoloLoss(IReadOnlyList<YoloLossLevel> levels, YoloLossTerms terms, Tensor weights, Tensor stepWeights, IReadOnlyList<Tensor> iou,
        Tensor total, Tensor items)
    {
        string h = HeadSuffix(levels, [weights, stepWeights, total, items, .. iou]);
        int blocks = LevelBlocks(levels, l => Math.Max(l.Head.Shape[0], l.Rows.Count), LossSumBlocks);
        var table = LossLevels.Of(levels, iou, null, blocks);
        using var partial = Tensor.Empty(new Shape(levels.Count * blocks, 3 * LossLevels.Max), DType.Float32, Device);
        kernel.YoloLossForward(h, Work.Grid((uint)(levels.Count * blocks)), table, levels[0].Head.Shape[1], LossTerms.From(terms), Ptr(weights), Ptr(stepWeights),
            Ptr(partial), Tickets(1), Ptr(total), Ptr(items));
    }

    /// Blocks of the loss's summing kernel: each adds a share, the last adds the blocks.
    const int LossSumBlocks = 1024;

    public void YoloLossBackward(IReadOnlyList<YoloLossLevel> levels, YoloLossTerms terms, IReadOnlyList<Tensor> iou, Tensor stepWeights, Tensor gtotal,
        IReadOnlyList<Tensor> gheads)
    {
        string h = HeadSuffix(levels, [stepWeights, gtotal, .. iou]);
        for (int l = 0; l < levels.Count; l++)
            if (gheads[l].DType != levels[l].Head.DType || gheads[l].Shape != levels[l].Head.Shape)
                throw new ArgumentException($"the loss's head gradient {gheads[l]} must have the head's shape and dtype {levels[l].Head}");
        int no = levels[0].Head.Shape[1];
        var t = LossTerms.From(terms);
        int objBlocks = LevelBlocks(levels, l => l.Head.Shape[0] * no, 8192), targetBlocks = LevelBlocks(levels, l => l.Rows.Count, LossSumBlocks);
        kernel.YoloObjBackward(h, Work.Grid((uint)(levels.Count * objBlocks)), LossLevels.Of(levels, iou, gheads, objBlocks), no, t.ObjPw, Ptr(stepWeights), Ptr(gtotal));
        kernel.YoloTargetsBackward(h, Work.Grid((uint)(levels.Count * targetBlocks)), LossLevels.Of(levels, iou, gheads, targetBlocks), no, t, Ptr(stepWeights), Ptr(gtotal));
    }
}
