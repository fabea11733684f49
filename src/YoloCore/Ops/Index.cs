using YoloCore.Autograd;

namespace YoloCore;

public static partial class Ops
{
    static void RequireIndex(Tensor index, Tensor x, string op)
    {
        if (index.DType != DType.Int32 || index.Rank != 1) throw new ArgumentException($"{op}: index must be a 1-D int32 tensor, got {index}");
        if (index.Device != x.Device) throw new ArgumentException($"{op}: index on {index.Device}, data on {x.Device}");
    }

    /// Gathers rows: y[i, ...] = x[index[i], ...] along axis 0 (the loss gathers predictions this way
    /// from [B·A·H·W, 5 + nc]).
    public static Tensor IndexSelect(this Tensor x, Tensor index)
    {
        RequireIndex(index, x, "IndexSelect");
        var y = Like(x, x.Shape.With(0, (int)index.Count));
        x.Backend.IndexSelect(x, index, y);
        if (GradMode.ShouldRecord(x)) y.GradFn = new IndexSelectNode(x, index);
        return y;
    }

    sealed class IndexSelectNode : Node
    {
        readonly Tensor index;
        readonly Shape inShape;

        public IndexSelectNode(Tensor x, Tensor index) : base(x)
        {
            this.index = Save(index);
            inShape = x.Shape;
        }

        protected internal override Tensor?[] Backward(Tensor gy)
        {
            var gx = Tensor.Zeros(inShape, gy.DType, gy.Device);
            gy.Backend.IndexAdd(gy, index, gx);
            return [gx];
        }
    }

    /// Scatter-add of rows: a copy of y with y[index[i], ...] += x[i, ...].
    public static Tensor IndexAdd(this Tensor y, Tensor index, Tensor x)
    {
        RequireIndex(index, y, "IndexAdd");
        RequireSameDevice(x, y, "IndexAdd");
        var r = y.Clone();
        y.Backend.IndexAdd(x, index, r);
        if (GradMode.ShouldRecord(y, x)) r.GradFn = new IndexAddNode(y, index, x);
        return r;
    }

    sealed class IndexAddNode : Node
    {
        readonly Tensor index;
        readonly Shape srcShape;

        public IndexAddNode(Tensor y, Tensor index, Tensor x) : base(y, x)
        {
            this.index = Save(index);
            srcShape = x.Shape;
        }

        protected internal override Tensor?[] Backward(Tensor gr)
        {
            Tensor? gx = null;
            if (NeedsGrad(1))
            {
                gx = Like(gr, srcShape);
                gr.Backend.IndexSelect(gr, index, gx);
            }
            return [NeedsGrad(0) ? gr.Clone() : null, gx];
        }
    }

    /// Scatter of rows: a copy of y with y[index[i], ...] = x[i, ...] (the loss writes IoU targets
    /// into the objectness map this way). With repeated indices the last row wins, and only it
    /// receives gradient.
    public static Tensor IndexCopy(this Tensor y, Tensor index, Tensor x)
    {
        RequireIndex(index, y, "IndexCopy");
        RequireSameDevice(x, y, "IndexCopy");
        var r = y.Clone();
        y.Backend.IndexCopy(x, index, r);
        if (GradMode.ShouldRecord(y, x)) r.GradFn = new IndexCopyNode(y, index, x);
        return r;
    }

    sealed class IndexCopyNode : Node
    {
        readonly Tensor index;
        readonly Shape srcShape;

        public IndexCopyNode(Tensor y, Tensor index, Tensor x) : base(y, x)
        {
            this.index = Save(index);
            srcShape = x.Shape;
        }

        protected internal override Tensor?[] Backward(Tensor gr)
        {
            var b = gr.Backend;
            // Row i of the source got through only if no later row wrote the same place: mark the
            // winners by scattering their own positions, then gather which position won each row.
            var rows = index.ToArray<int>();
            var winner = new Dictionary<int, int>();
            for (int i = 0; i < rows.Length; i++) winner[rows[i]] = i;
            Tensor? gx = null;
            if (NeedsGrad(1))
            {
                gx = Like(gr, srcShape);
                b.IndexSelect(gr, index, gx);
                var lost = Enumerable.Range(0, rows.Length).Where(i => winner[rows[i]] != i).ToArray();
                if (lost.Length > 0)
                {
                    var zeros = Tensor.Zeros(srcShape.With(0, lost.Length), gr.DType, gr.Device);
                    b.IndexCopy(zeros, Tensor.FromArray(lost, lost.Length).To(gr.Device), gx);
                }
            }
            Tensor? gy = null;
            if (NeedsGrad(0))
            {
                gy = gr.Clone();
                var zeros = Tensor.Zeros(srcShape, gr.DType, gr.Device);
                b.IndexCopy(zeros, index, gy);
            }
            return [gy, gx];
        }
    }
}
