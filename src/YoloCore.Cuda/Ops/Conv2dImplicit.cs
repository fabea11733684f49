using YoloCore.Native;

namespace YoloCore.Cuda;

// The convolution as implicit GEMMs on tensor cores (kernels/conv2d_implicit.cuh): float16 forward,
// weight gradient and input gradient (one stride-1 convolution per phase of the stride), with no
// column buffer. Channels are read 8 at a time: a layer with fewer (the 3-channel stem) has its
// weights padded with zeros, and its input read a half at a time into the padded layout.
public sealed unsafe partial class CudaBackend
{
    /// Off until a GPU run has checked the kernels against the CPU (doctor --check) and timed them
    /// against im2col + cuBLAS: YOLOCORE_IMPLICIT_GEMM=1.
    public static bool ImplicitGemmOn { get; } = Environment.GetEnvironmentVariable("YOLOCORE_IMPLICIT_GEMM") == "1";

    /// A deferred BatchNorm + SiLU is applied in the implicit GEMM's loads (AppliesInLoads).
    public bool ReadsDeferredBatchNormSilu => ImplicitGemmOn && registry.Arch >= 80;

    static int PaddedChannels(int c) => (c + 7) / 8 * 8;

    /// Which convolutions the implicit GEMM takes: float16, output channels in runs of 8 (any
    /// number for a forward, anyCout), a k×k or strided kernel (1×1 stride 1 is one cuBLAS GEMM
    /// already, unless pointwise: a forward whose epilogue gives BatchNorm's sums or adds the bias,
    /// saving the pass over y cuBLAS would need, or a backward whose two gradients share one
    /// launch), sm_80 or newer.
    bool UsesImplicitGemm(Tensor x, Tensor w, ConvGeom c, bool pointwise = false, bool anyCout = false) =>
        ImplicitGemmOn && registry.Arch >= 80 && x.DType == DType.Float16 && (anyCout || w.Shape[0] % 8 == 0) && (pointwise || !IsPointwise(c))
        && (long)x.Shape[0] * c.Ho * c.Wo < int.MaxValue && (long)c.Kh * c.Kw * PaddedChannels(c.Cin) < int.MaxValue;

    /// t with its last axis zero-padded to channels (copy_channels), or t itself when it has them:
    /// the stem's weights.
    Tensor WithChannels(Tensor t, int channels)
    {
        int have = t.Shape[t.Rank - 1];
        if (have == channels) return t;
        var dims = t.Shape.ToArray();
        dims[^1] = channels;
        var padded = Tensor.Empty(new Shape(dims), t.DType, Device);
        kernel.CopyChannels(Suffix(t, "Conv2d"), padded.Count, Ptr(t), Ptr(padded), t.Count / have, have, channels);
        return padded;
    }

    /// batchSums (or null) receives BatchNorm's Σy and Σy² from the kernel's epilogue: float32
    /// partials per block of 128 rows, added per channel in double in the same launch (EpilogueSums).
    /// bias (float16, or null) is added there too. xin (or none): x's parts, read where they lie,
    /// deferred ones applied as they are loaded (x is then the first, c's channels all of theirs). stats (or none, with batchSums): the last block also turns
    /// the sums into a deferred Conv block's statistics.
    void ImplicitForward(Tensor x, Tensor w, ConvGeom c, Tensor y, Tensor? bias, Tensor? batchSums, XParts xin = default, BnStatistics stats = default)
    {
        int cp = PaddedChannels(c.Cin), cout = w.Shape[0], m = x.Shape[0] * c.Ho * c.Wo;
        var wp = WithChannels(w, cp); // x is read with its own channels (narrow_segment)
        var g = c with { Cin = cp };
        int rowBlocks = (m + 127) / 128, group = SumsGroup(rowBlocks), groups = (rowBlocks + group - 1) / group;
        using var partial = batchSums is null ? null : Tensor.Empty(new Shape(rowBlocks, 2, cout), DType.Float32, Device);
        using var groupSums = batchSums is null || groups == 1 ? null : Tensor.Empty(new Shape(groups, 2, cout), DType.Float64, Device);
        var sums = batchSums is null ? default : new EpilogueSums
        {
            Partial = Ptr(partial!), Groups = PtrOrNull(groupSums), Tickets = Tickets((long)((cout + 31) / 32) * (groups + 1)), Sums = Ptr(batchSums), Group = group,
            Stats = stats,
        };
        LaunchImplicitForward(Ptr(x), c.Cin, xin, Ptr(wp), PtrOrNull(bias), Ptr(y), sums, m, cout, c.Kh * c.Kw * cp, g, OutMap.Dense(g));
        if (wp != w) wp.Dispose();
    }

    /// Row blocks per group of the epilogue's two-level sum: about √blocks, so that neither level's
    /// serial pass is long (the stem at 640 px, batch 64: 51,200 blocks in 227 groups of 226).
    static int SumsGroup(int rowBlocks) => Math.Max(16, (int)Math.Ceiling(Math.Sqrt(rowBlocks)));

    /// The forward kernel with output channels 32, 64 or 128 per block: widths up to the layer's
    /// channels are candidates (a wider tile would compute empty columns), the fastest for the
    /// shape picked once per card (TileChoices); all of them give the same numbers, batch sums too.
    void LaunchImplicitForward(ulong x, int xChannels, XParts xin, ulong w, ulong bias, ulong y, EpilogueSums sums, int m, int cout, int k, ConvGeom g, OutMap map)
    {
        void Run(string tile, EpilogueSums s)
        {
            int width = int.Parse(tile.AsSpan(1));
            var work = Work.Grid((uint)((m + 127) / 128), (uint)((cout + width - 1) / width));
            switch (width)
            {
                case 32: kernel.ConvImplicitForwardN32("f16", work, x, xChannels, xin, w, bias, y, s, m, cout, k, g, map); break;
                case 64: kernel.ConvImplicitForwardN64("f16", work, x, xChannels, xin, w, bias, y, s, m, cout, k, g, map); break;
                default: kernel.ConvImplicitForwardN128("f16", work, x, xChannels, xin, w, bias, y, s, m, cout, k, g, map); break;
            }
        }
        // Timed without the statistics: each run would update the running statistics once more.
        Run(ChooseTile($"forward m{m} co{cout} k{k} {Describe(g)}{Variant(false, default, xin)}", Widths(cout), tile => Run(tile, sums with { Stats = default })), sums);
    }

    /// The forward kernel's tile widths for a layer's output channels, widest first.
    static string[] Widths(int channels) => channels <= 32 ? ["n32"] : channels <= 64 ? ["n64", "n32"] : ["n128", "n64", "n32"];

    static string Describe(ConvGeom g) => $"{g.H}x{g.W}x{g.Cin} {g.Kh}x{g.Kw}/{g.Sh}x{g.Sw} p{g.Ph}x{g.Pw}";

    TileChoices? tileChoices;

    /// The card's tile choices, in the kernel cache's folder.
    TileChoices Tiles => tileChoices ??= new TileChoices(System.IO.Path.Combine(registry.CacheDirectory,
        $"conv-tiles-{new string(gpu.Name.Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray())}-sm{registry.Arch}.tsv"));

    /// The tile for a shape: the first candidate (the heuristic) while a graph is being captured
    /// (nothing can be timed then) or when YOLOCORE_CONV_TILES=fixed, else the card's choice.
    /// run(tile) is what gets timed, several times: it must leave the same result however often.
    string ChooseTile(string key, string[] candidates, Action<string> run)
    {
        if (candidates.Length == 1 || capture.IsCapturing || FixedTiles) return candidates[0];
        return Tiles.Choose(key, candidates, tile => TimeMs(() => run(tile)));
    }

    /// The same for an input gradient written into gx by run(tile, target): with add, each timed
    /// run would add once more, so they go into a scratch tensor instead.
    string ChooseInputGradientTile(string key, string[] candidates, Tensor gx, bool add, Action<string, Tensor> run) =>
        ChooseInputGradientTile(key, candidates, [gx], [add], (tile, targets) => run(tile, targets[0]!));

    /// And into parts (gxs[i], added to where adds[i]): scratch tensors for those that add.
    string ChooseInputGradientTile(string key, string[] candidates, IReadOnlyList<Tensor?> gxs, IReadOnlyList<bool> adds, Action<string, IReadOnlyList<Tensor?>> run)
    {
        Tensor?[]? scratch = null;
        Tensor?[] Targets() => scratch ??= gxs.Select((t, i) => t is not null && adds[i] ? Tensor.Empty(t.Shape, t.DType, Device) : t).ToArray();
        try { return ChooseTile(key, candidates, tile => run(tile, Targets())); }
        finally
        {
            if (scratch is not null)
                for (int i = 0; i < scratch.Length; i++)
                    if (!ReferenceEquals(scratch[i], gxs[i])) scratch[i]?.Dispose();
        }
    }

    static readonly bool FixedTiles = Environment.GetEnvironmentVariable("YOLOCORE_CONV_TILES") == "fixed";

    /// Milliseconds of one run, after one untimed run (which also loads the kernel).
    double TimeMs(Action run)
    {
        run();
        var start = CudaDriver.EventCreate();
        var end = CudaDriver.EventCreate();
        try
        {
            CudaDriver.EventRecord(start, gpu.Stream);
            run();
            run();
            CudaDriver.EventRecord(end, gpu.Stream);
            CudaDriver.EventSynchronize(end);
            return CudaDriver.EventElapsedTime(start, end) / 2;
        }
        finally
        {
            CudaDriver.EventDestroy(start);
            CudaDriver.EventDestroy(end);
        }
    }

    /// The input gradient as stride-1 convolutions of gy with flipped, channel-transposed weights,
    /// one per phase of the stride (InputGradientPhase; one for stride 1), all in one launch, each
    /// written straight into its rows and columns of gx: no column buffer, no col2im. 1×1 layers
    /// too: with the weight gradient in the same launch (ImplicitBackward) it saves one.
    bool UsesImplicitInputGradient(Tensor x, Tensor w, ConvGeom c) =>
        UsesImplicitGemm(x, w, c, pointwise: true) && c.Cin % 8 == 0 && (long)x.Shape[0] * c.H * c.W < int.MaxValue;

    /// The phases' table for one launch (the phases with taps, at most Phases.Max of them), and
    /// whether some rows and columns of gx are reached by no tap (a kernel smaller than its stride).
    static List<Phases> PhaseTables(ConvGeom c, out bool untouched)
    {
        var all = InputGradientPhase.Plan(c.H, c.W, c.Kh, c.Kw, c.Sh, c.Sw, c.Ph, c.Pw);
        untouched = all.Any(p => !p.HasTaps);
        var phases = all.Where(p => p.HasTaps).ToList();
        var tables = new List<Phases>();
        for (int first = 0; first < phases.Count; first += Phases.Max)
        {
            var group = phases.Skip(first).Take(Phases.Max).ToList();
            var table = new Phases { Count = group.Count };
            for (int i = 0; i < group.Count; i++) table.Set(i, group[i]);
            tables.Add(table);
        }
        return tables;
    }

    /// conv2d.cu's dgrad_grid: row blocks of the largest phase × column blocks of the input's channels × phases.
    static (int X, int Y, int Z) InputGradientGrid(int n, ConvGeom c, Phases table, int width) =>
        ((table.MaxRows(n) + 127) / 128, (c.Cin + width - 1) / width, table.Count);

    /// add: gx holds the input's other gradients, and this one is added to them. bn (or none): gy
    /// is the Conv block's output gradient, turned into BatchNorm's input gradient as it is read.
    void ImplicitInputGradient(Tensor w, Tensor gy, ConvGeom c, Tensor gx, bool add, BnGrad bn = default) =>
        ImplicitInputGradient(w, gy, c, [gx], [add], [c.Cin], bn);

    /// The same into the parts of a concatenation read in place, channels[i] each (gxs[i] null: part
    /// i's not needed), each added to or written as adds[i] says (OutParts): no concatenated
    /// gradient, no split.
    void ImplicitInputGradient(Tensor w, Tensor gy, ConvGeom c, IReadOnlyList<Tensor?> gxs, IReadOnlyList<bool> adds, int[] channels, BnGrad bn = default)
    {
        int cout = w.Shape[0], n = gy.Shape[0];
        bool parts = gxs.Count > 1;
        var tables = PhaseTables(c, out bool untouched);
        for (int i = 0; i < gxs.Count; i++)
            if (untouched && !adds[i] && gxs[i] is { } fresh) Fill(fresh, 0);
        foreach (var table in tables)
        {
            if (table.MaxRows(n) == 0) continue;
            void Run(string tile, IReadOnlyList<Tensor?> targets)
            {
                int width = int.Parse(tile.AsSpan(1));
                var (gridX, gridY, gridZ) = InputGradientGrid(n, c, table, width);
                var work = Work.Grid((uint)gridX, (uint)gridY, (uint)gridZ);
                var op = parts ? OutParts.Of(targets, adds, channels) : default;
                ulong target = parts ? 0 : Ptr(targets[0]!);
                int add = !parts && adds[0] ? 1 : 0;
                switch (width)
                {
                    case 32: kernel.ConvImplicitDgradN32("f16", work, Ptr(gy), Ptr(w), target, n, cout, c, table, add, bn, op); break;
                    case 64: kernel.ConvImplicitDgradN64("f16", work, Ptr(gy), Ptr(w), target, n, cout, c, table, add, bn, op); break;
                    default: kernel.ConvImplicitDgradN128("f16", work, Ptr(gy), Ptr(w), target, n, cout, c, table, add, bn, op); break;
                }
            }
            string key = $"dgrad n{n} co{cout} phases{table.Count} {Describe(c)}{Variant(adds.Any(a => a), bn)}{(parts ? $" parts {gxs.Count}" : "")}";
            Run(ChooseInputGradientTile(key, Widths(c.Cin), gxs, adds, Run), gxs);
        }
    }

    /// About four blocks per multiprocessor of a large GPU: the weight gradient's tiles (co × k) are
    /// few for early layers, so its reduction over every pixel is split to fill the card.
    const int WeightGradientBlocks = 512;
    const long WeightGradientPartialBytes = 64L << 20;

    /// How the weight gradient's reduction over m pixels is split: pixels per slice, slices, and
    /// the group of slices its first level adds up (about √slices). It follows from the shape alone
    /// (counted in 128 × 128 tiles), not from the tile chosen, so every tile gives the same sums.
    static (int PerSplit, int Slices, int Group) WeightGradientSplit(int m, int cout, int k)
    {
        long tiles = (long)((cout + 127) / 128) * ((k + 127) / 128);
        long splits = Math.Clamp((WeightGradientBlocks + tiles - 1) / tiles, 1, Math.Max(1, WeightGradientPartialBytes / (4L * cout * k)));
        int perSplit = (int)Math.Min(m, ((m + splits - 1) / splits + 31) / 32 * 32);
        int slices = (m + perSplit - 1) / perSplit;
        return (perSplit, slices, (int)Math.Ceiling(Math.Sqrt(slices)));
    }

    /// The weight gradient's tiles: 128 co × 128 k, or 64 × 256 (the only one for at most 64
    /// output channels), and its grid for a split.
    static string[] WeightGradientTiles(int cout) => cout <= 64 ? ["co64"] : ["co128", "co64"];

    static (int X, int Y, int Z) WeightGradientGrid(string tile, int cout, int k, int slices) =>
        tile == "co64" ? ((cout + 63) / 64, (k + 255) / 256, slices) : ((cout + 127) / 128, (k + 127) / 128, slices);

    SliceTotals Totals((int X, int Y, int Z) grid, int group, int cin) => new()
    {
        Tickets = Tickets((long)grid.X * grid.Y * ((grid.Z + group - 1) / group + 1)), Group = group, Cin = cin,
    };

    /// gW = Σ over pixels of gy ⊗ patches, split over the pixels into slices whose float32 partial
    /// sums the kernel's last blocks add in slice order (deterministic, whatever the split) into gw,
    /// without the stem's padded channels. bn: as for ImplicitInputGradient; xin: as for ImplicitForward.
    void ImplicitWeightGradient(Tensor x, Tensor gy, ConvGeom c, int cout, Tensor gw, BnGrad bn = default, XParts xin = default)
    {
        int cp = PaddedChannels(c.Cin), m = x.Shape[0] * c.Ho * c.Wo, k = c.Kh * c.Kw * cp;
        var (perSplit, slices, group) = WeightGradientSplit(m, cout, k);
        var g = c with { Cin = cp };
        using (var partial = Tensor.Empty(new Shape(slices, cout, k), DType.Float32, Device))
        {
            void Run(string tile)
            {
                var grid = WeightGradientGrid(tile, cout, k, slices);
                var work = Work.Grid((uint)grid.X, (uint)grid.Y, (uint)grid.Z);
                string t = Suffix(gw, "Conv2d");
                if (tile == "co64") kernel.ConvImplicitWgradCo64(t, work, Ptr(x), c.Cin, xin, Ptr(gy), Ptr(partial), Ptr(gw), Totals(grid, group, c.Cin), m, cout, k, perSplit, g, bn);
                else kernel.ConvImplicitWgradCo128(t, work, Ptr(x), c.Cin, xin, Ptr(gy), Ptr(partial), Ptr(gw), Totals(grid, group, c.Cin), m, cout, k, perSplit, g, bn);
            }
            Run(ChooseTile($"wgrad m{m} co{cout} k{k} {Describe(g)}{Variant(false, bn, xin)}", WeightGradientTiles(cout), Run));
        }
    }

    /// Both gradients in one launch (conv_implicit_backward: the input gradient's blocks, then the
    /// weight gradient's), for a layer whose input is one tensor (deferred or not) with channels in
    /// runs of 8 and whose phases fit one table; otherwise each on its own. The two launches are a candidate too ("apart"), timed
    /// per shape with the tile pairs: the numbers are the same either way. bn: as for
    /// ImplicitInputGradient; xin: as for ImplicitForward.
    void ImplicitBackward(Tensor x, Tensor w, Tensor gy, ConvGeom c, Tensor gx, bool add, Tensor gw, BnGrad bn = default, XParts xin = default)
    {
        var tables = PhaseTables(c, out bool untouched);
        if (tables.Count != 1 || untouched || xin.Count > 1) // the one launch reads x as one tensor
        {
            ImplicitInputGradient(w, gy, c, gx, add, bn);
            ImplicitWeightGradient(x, gy, c, w.Shape[0], gw, bn, xin);
            return;
        }
        var table = tables[0];
        int cout = w.Shape[0], n = x.Shape[0], m = n * c.Ho * c.Wo, k = c.Kh * c.Kw * c.Cin;
        var (perSplit, slices, group) = WeightGradientSplit(m, cout, k);
        using var partial = Tensor.Empty(new Shape(slices, cout, k), DType.Float32, Device);
        void Run(string tile, Tensor target)
        {
            if (tile == "apart")
            {
                ImplicitInputGradient(w, gy, c, target, add, bn);
                ImplicitWeightGradient(x, gy, c, cout, gw, bn, xin);
                return;
            }
            var parts = tile.Split('+');
            int width = int.Parse(parts[0].AsSpan(1));
            var d = InputGradientGrid(n, c, table, width);
            var wg = WeightGradientGrid(parts[1], cout, k, slices);
            var work = Work.Grid((uint)(d.X * d.Y * d.Z + wg.X * wg.Y * wg.Z));
            var totals = Totals(wg, group, c.Cin);
            string t = Suffix(gw, "Conv2d");
            (ulong xs, ulong ws, ulong gys, ulong gxs, int a, ulong ps, ulong gws) = (Ptr(x), Ptr(w), Ptr(gy), Ptr(target), add ? 1 : 0, Ptr(partial), Ptr(gw));
            switch (tile)
            {
                case "n128+co128": kernel.ConvImplicitBackwardN128Co128(t, work, xs, xin, ws, gys, gxs, a, ps, gws, totals, n, cout, perSplit, c, table, bn); break;
                case "n64+co128": kernel.ConvImplicitBackwardN64Co128(t, work, xs, xin, ws, gys, gxs, a, ps, gws, totals, n, cout, perSplit, c, table, bn); break;
                case "n32+co128": kernel.ConvImplicitBackwardN32Co128(t, work, xs, xin, ws, gys, gxs, a, ps, gws, totals, n, cout, perSplit, c, table, bn); break;
                case "n128+co64": kernel.ConvImplicitBackwardN128Co64(t, work, xs, xin, ws, gys, gxs, a, ps, gws, totals, n, cout, perSplit, c, table, bn); break;
                case "n64+co64": kernel.ConvImplicitBackwardN64Co64(t, work, xs, xin, ws, gys, gxs, a, ps, gws, totals, n, cout, perSplit, c, table, bn); break;
                default: kernel.ConvImplicitBackwardN32Co64(t, work, xs, xin, ws, gys, gxs, a, ps, gws, totals, n, cout, perSplit, c, table, bn); break;
            }
        }
        string[] candidates = [.. Widths(c.Cin).SelectMany(d => WeightGradientTiles(cout).Select(wt => $"{d}+{wt}")), "apart"];
        Run(ChooseInputGradientTile($"backward m{m} co{cout} k{k} phases{table.Count} {Describe(c)}{Variant(add, bn, xin)}", candidates, gx, add, Run), gx);
    }

    /// What else tells a kernel's timings apart in the tile file: adding into gx, computing
    /// BatchNorm's input gradient in the loads, reading x's parts (deferred ones applied) in them.
    static string Variant(bool add, BnGrad bn, XParts xin = default) => (add ? " add" : "") + (bn.Coef != 0 ? " bn" : "") + xin.Describe();
}

/// Mirrors conv2d.cu's Phases: up to Max input-gradient phases, their taps and their rows and
/// columns of gx.
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal unsafe struct Phases
{
    public const int Max = 16;
    public int Count;
    fixed int rh[Max];
    fixed int rw[Max];
    fixed int th[Max];
    fixed int tw[Max];
    fixed int hp[Max];
    fixed int wp[Max];
    fixed int ph[Max];
    fixed int pw[Max];
    fixed int oh[Max];
    fixed int ow[Max];

    public void Set(int i, InputGradientPhase p) =>
        (rh[i], rw[i], th[i], tw[i], hp[i], wp[i], ph[i], pw[i], oh[i], ow[i]) = (p.Rh, p.Rw, p.Th, p.Tw, p.Hp, p.Wp, p.Ph, p.Pw, p.A, p.B);

    /// The most gx rows a phase has, for n images.
    public readonly int MaxRows(int n)
    {
        int most = 0;
        for (int i = 0; i < Count; i++) most = Math.Max(most, n * hp[i] * wp[i]);
        return most;
    }
}

/// Mirrors conv2d_implicit.cuh's EpilogueSums: where the forward's epilogue puts BatchNorm's batch
/// sums (Partial 0: nowhere).
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal struct EpilogueSums
{
    public ulong Partial, Groups, Tickets, Sums;
    public int Group;
    public BnStatistics Stats;
}

/// Mirrors batchnorm2d.cuh's BnStatistics: where a deferred Conv block's statistics go (Map 0: none).
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal struct BnStatistics
{
    public ulong Mean, InvStd, RunningMean, RunningVar, Gamma, Beta, Map;
    public float Momentum, Eps;
}

/// Mirrors conv2d_implicit.cuh's BnGrad: BatchNorm's input and its input gradient's coefficients,
/// where the convolution's backward computes that gradient from the gy it reads (Coef 0: gy as it is).
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal struct BnGrad
{
    public ulong X, Coef;
}

/// Mirrors conv2d_implicit.cuh's XParts: the convolution's input as up to Max tensors side by side
/// in channels, each with a deferred BatchNorm + SiLU's map ([2, C] float32) or none (Count 0: x
/// read as it is).
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal unsafe struct XParts
{
    public const int Max = 4;
    fixed ulong x[Max];
    fixed ulong map[Max];
    fixed int channels[Max];
    public int Count;

    public void Set(int i, ulong part, ulong partMap, int partChannels) => (x[i], map[i], channels[i]) = (part, partMap, partChannels);

    /// For the tile file's keys: " apply" where a part is deferred, " parts N" where there are several.
    public readonly string Describe()
    {
        bool deferred = false;
        for (int i = 0; i < Count; i++) deferred |= map[i] != 0;
        return (deferred ? " apply" : "") + (Count > 1 ? $" parts {Count}" : "");
    }
}

/// Mirrors conv2d_implicit.cuh's OutParts: where the input gradient of a concatenation read in
/// place goes, part by part (Count 0: the one gx).
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal unsafe struct OutParts
{
    fixed ulong y[XParts.Max];
    fixed int channels[XParts.Max];
    fixed int add[XParts.Max];
    public int Count;

    /// targets[i] (null: not needed) of the concatenation's parts of channels[i], each added to where adds[i].
    public static OutParts Of(IReadOnlyList<Tensor?> targets, IReadOnlyList<bool> adds, int[] channels)
    {
        if (targets.Count > XParts.Max) throw new ArgumentException($"{targets.Count} parts: the input gradient writes at most {XParts.Max}");
        var parts = new OutParts { Count = targets.Count };
        for (int i = 0; i < targets.Count; i++)
            (parts.y[i], parts.channels[i], parts.add[i]) = (targets[i] is { } t ? CudaBackend.Ptr(t) : 0, channels[i], adds[i] ? 1 : 0);
        return parts;
    }
}

/// Mirrors conv2d_implicit.cuh's SliceTotals: how the weight gradient's slices are added up.
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal struct SliceTotals
{
    public ulong Tickets;
    public int Group, Cin;
}
