namespace YoloCore.Cuda.Tests;

/// The implicit-GEMM convolution's tile math (kernels/conv2d_implicit.cuh), checked on a machine
/// without a GPU: an emulation of the kernel's blocks, threads and warps, with cp.async's
/// 16-byte segments, ldmatrix.x4 and mma.sync m16n8k16 fragments laid out as the PTX ISA
/// specifies them, against a direct convolution. It mirrors the kernel line for line (change both
/// together); the GPU parity rows then check the hardware's reading of the same code.
public class ImplicitGemmEmulationTests
{
    const int Bm = 128, Bk = 32, Ld = 40;

    /// OutH, OutW: the output's size when it is not what symmetric padding gives (an input-gradient
    /// phase: padding P before, whatever is left after).
    public sealed record Geometry(int N, int H, int W, int C, int Cout, int Kh, int Kw, int Sh, int Sw, int Ph, int Pw, int OutH = 0, int OutW = 0)
    {
        public int Ho => OutH > 0 ? OutH : (H + 2 * Ph - Kh) / Sh + 1;
        public int Wo => OutW > 0 ? OutW : (W + 2 * Pw - Kw) / Sw + 1;
        public int M => N * Ho * Wo;
        public int K => Kh * Kw * C;
    }

    /// Every tap of a direct convolution: output element (y index), the input pixel it reads
    /// (its first channel's index in x) and the weight row (its first channel's index in w).
    static void ForEachTap(Geometry g, Action<int, int, int> tap)
    {
        for (int n = 0; n < g.N; n++)
            for (int oh = 0; oh < g.Ho; oh++)
                for (int ow = 0; ow < g.Wo; ow++)
                    for (int co = 0; co < g.Cout; co++)
                        for (int ki = 0; ki < g.Kh; ki++)
                            for (int kj = 0; kj < g.Kw; kj++)
                            {
                                int ih = oh * g.Sh - g.Ph + ki, iw = ow * g.Sw - g.Pw + kj;
                                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                                tap(((n * g.Ho + oh) * g.Wo + ow) * g.Cout + co, ((n * g.H + ih) * g.W + iw) * g.C, ((co * g.Kh + ki) * g.Kw + kj) * g.C);
                            }
    }

    /// count values drawn uniformly from [-1, 1).
    static double[] Uniform(Random rng, int count) => Enumerable.Range(0, count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

    static double[] Direct(double[] x, double[] w, Geometry g)
    {
        var y = new double[g.M * g.Cout];
        ForEachTap(g, (yi, xi, wi) => { for (int c = 0; c < g.C; c++) y[yi] += x[xi + c] * w[wi + c]; });
        return y;
    }

    /// ldmatrix.x4: lane 8q + r gives the address of row r of matrix q; lane t receives, for each q,
    /// row t / 4 of matrix q, elements 2(t % 4) and 2(t % 4) + 1.
    static (double, double)[,] Ldmatrix(double[] smem, Func<int, int> address)
    {
        var regs = new (double, double)[32, 4];
        for (int q = 0; q < 4; q++)
            for (int t = 0; t < 32; t++)
            {
                int row = address(8 * q + t / 4), e = 2 * (t % 4);
                regs[t, q] = (smem[row + e], smem[row + e + 1]);
            }
        return regs;
    }

    /// ldmatrix.x4.trans: the same addressing, each matrix transposed: lane t receives rows
    /// 2(t % 4) and 2(t % 4) + 1 of column t / 4.
    static (double, double)[,] LdmatrixTrans(double[] smem, Func<int, int> address)
    {
        var regs = new (double, double)[32, 4];
        for (int q = 0; q < 4; q++)
            for (int t = 0; t < 32; t++)
            {
                int r = 2 * (t % 4), col = t / 4;
                regs[t, q] = (smem[address(8 * q + r) + col], smem[address(8 * q + r + 1) + col]);
            }
        return regs;
    }

    /// One mma.m16n8k16 .row.col on fragments: lane (g, q) = (l / 4, l % 4) holds A[g | g+8][2q, 2q+1 |
    /// 2q+8, 2q+9] in a0..a3, B[2q, 2q+1 | 2q+8, 2q+9][g] in b0, b1 and C[g | g+8][2q, 2q+1] in c0..c3.
    static void Mma(double[,] c, (double, double)[,] a, (double, double)[,] b, int b0, int b1)
    {
        var am = new double[16, 16];
        var bm = new double[16, 8];
        for (int l = 0; l < 32; l++)
        {
            int gr = l / 4, q = l % 4;
            (am[gr, 2 * q], am[gr, 2 * q + 1]) = a[l, 0];
            (am[gr + 8, 2 * q], am[gr + 8, 2 * q + 1]) = a[l, 1];
            (am[gr, 2 * q + 8], am[gr, 2 * q + 9]) = a[l, 2];
            (am[gr + 8, 2 * q + 8], am[gr + 8, 2 * q + 9]) = a[l, 3];
            (bm[2 * q, gr], bm[2 * q + 1, gr]) = b[l, b0];
            (bm[2 * q + 8, gr], bm[2 * q + 9, gr]) = b[l, b1];
        }
        for (int l = 0; l < 32; l++)
        {
            int gr = l / 4, q = l % 4;
            (int Row, int Col)[] cells = [(gr, 2 * q), (gr, 2 * q + 1), (gr + 8, 2 * q), (gr + 8, 2 * q + 1)];
            for (int v = 0; v < 4; v++)
                for (int t = 0; t < 16; t++) c[l, v] += am[cells[v].Row, t] * bm[t, cells[v].Col];
        }
    }

    /// two_stage_pipeline: tile t + 1 is loaded into the other stage before tile t is computed.
    static void TwoStagePipeline(int tiles, Action<int, int> load, Action<int> compute)
    {
        if (tiles <= 0) return;
        load(0, 0);
        for (int t = 0; t < tiles; t++)
        {
            if (t + 1 < tiles) load((t + 1) & 1, t + 1);
            compute(t & 1);
        }
    }

    static double[,,][,] NewWarpTiles(int nt)
    {
        var acc = new double[8, 2, nt][,];
        for (int wp = 0; wp < 8; wp++) for (int i = 0; i < 2; i++) for (int j = 0; j < nt; j++) acc[wp, i, j] = new double[32, 4];
        return acc;
    }

    /// warp_tile_mma&lt;nt&gt;: the warp's 2 × nt accumulators from two A fragments and nt / 2 B x4 loads.
    static void WarpTileMma(double[,,][,] acc, int warp, (double, double)[][,] a, (double, double)[][,] b, int nt)
    {
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < nt; j++) Mma(acc[warp, i, j], a[i], b[j >> 1], (j & 1) * 2, (j & 1) * 2 + 1);
    }

    /// Every accumulator pair of a block, at its output row and (even) column: warps wmCount ×
    /// (8 / wmCount) of 32 × 8·nt, lane (g, q) holding rows g and g + 8, columns 2q and 2q + 1 of each 16 × 8 tile.
    static void ForEachOutput(double[,,][,] acc, int nt, int wmCount, int rowBase, int colBase, Action<int, int, double, double> store)
    {
        for (int warp = 0; warp < 8; warp++)
            for (int l = 0; l < 32; l++)
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < nt; j++)
                    {
                        int row = rowBase + (warp % wmCount) * 32 + i * 16 + (l >> 2), col = colBase + (warp / wmCount) * 8 * nt + j * 8 + (l & 3) * 2;
                        var c = acc[warp, i, j];
                        store(row, col, c[l, 0], c[l, 1]);
                        store(row + 8, col, c[l, 2], c[l, 3]);
                    }
    }

    /// conv_implicit_wgrad's blocks over (co, k, slice), then its slices added up (wgrad_slices_total).
    static double[] WeightGradientKernel(double[] x, double[] gy, Geometry g, int perSplit, int wmCount = 4)
    {
        const int wbk = 32;
        int coT = 32 * wmCount, kT = 64 * (8 / wmCount), gld = coT + 8, ald = kT + 8;
        int m = g.M, k = g.K, cout = g.Cout, hw = g.Ho * g.Wo, slices = (m + perSplit - 1) / perSplit;
        var partial = new double[slices * cout * k];
        for (int bx = 0; bx < (cout + coT - 1) / coT; bx++)
            for (int by = 0; by < (k + kT - 1) / kT; by++)
                for (int bz = 0; bz < slices; bz++)
                {
                    int co0 = bx * coT, k0 = by * kT, mBegin = bz * perSplit, mEnd = Math.Min(m, mBegin + perSplit);
                    var gs = new[] { new double[wbk * gld], new double[wbk * gld] };
                    var sa = new[] { new double[wbk * ald], new double[wbk * ald] };
                    void Load(int stage, int tile)
                    {
                        int mt = mBegin + tile * wbk;
                        for (int tid = 0; tid < 256; tid++)
                        {
                            int gcol = (tid % (coT / 8)) * 8, acol = (tid % (kT / 8)) * 8, kcol = k0 + acol, cocol = co0 + gcol, c = 0, ki = 0, kj = 0;
                            bool kok = kcol < k, cok = cocol < cout;
                            if (kok) { c = kcol % g.C; int kk = kcol / g.C; kj = kk % g.Kw; ki = kk / g.Kw; }
                            for (int i = 0; i < coT / 64; i++)
                            {
                                int r = (tid + 256 * i) / (coT / 8), mm = mt + r;
                                bool ok = mm < mEnd && cok;
                                for (int e = 0; e < 8; e++) gs[stage][r * gld + gcol + e] = ok ? gy[(long)mm * cout + cocol + e] : 0;
                            }
                            for (int i = 0; i < kT / 64; i++)
                            {
                                int r = (tid + 256 * i) / (kT / 8), mm = mt + r;
                                bool mok = mm < mEnd;
                                int mc = mok ? mm : 0, n = mc / hw, pix = mc - n * hw, oh = pix / g.Wo, ow = pix - oh * g.Wo;
                                int ih = oh * g.Sh - g.Ph + ki, iw = ow * g.Sw - g.Pw + kj;
                                bool ok = mok && kok && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                                for (int e = 0; e < 8; e++) sa[stage][r * ald + acol + e] = ok ? x[(((long)n * g.H + ih) * g.W + iw) * g.C + c + e] : 0;
                            }
                        }
                    }
                    var acc = NewWarpTiles(8);
                    TwoStagePipeline(mEnd > mBegin ? (mEnd - mBegin + wbk - 1) / wbk : 0, Load, stage =>
                    {
                        var sg = gs[stage];
                        var sx = sa[stage];
                        for (int warp = 0; warp < 8; warp++)
                        {
                            int wm = warp % wmCount, wn = warp / wmCount;
                            for (int kk = 0; kk < wbk; kk += 16)
                            {
                                var a = new (double, double)[2][,];
                                var b = new (double, double)[4][,];
                                for (int i = 0; i < 2; i++)
                                    a[i] = LdmatrixTrans(sg, l => (kk + ((l >> 4) & 1) * 8 + (l & 7)) * gld + wm * 32 + i * 16 + ((l >> 3) & 1) * 8);
                                for (int j = 0; j < 4; j++)
                                    b[j] = LdmatrixTrans(sx, l => (kk + ((l >> 3) & 1) * 8 + (l & 7)) * ald + wn * 64 + j * 16 + (l >> 4) * 8);
                                WarpTileMma(acc, warp, a, b, 8);
                            }
                        }
                    });
                    long o = (long)bz * cout * k;
                    ForEachOutput(acc, 8, wmCount, co0, k0, (row, kc, v0, v1) =>
                    {
                        if (kc < k && row < cout) (partial[o + row * k + kc], partial[o + row * k + kc + 1]) = (v0, v1);
                    });
                }
        var gw = new double[cout * k];
        for (int i = 0; i < gw.Length; i++)
            for (int z = 0; z < slices; z++) gw[i] += partial[(long)z * gw.Length + i];
        return gw;
    }

    /// The forward's epilogue sums (epilogue_sums_warp, epilogue_sums_block): each thread's stored
    /// values per column pair, the xor shuffles over the 8 lanes of a column (lanes 0-3 keep the
    /// result), the 4 warps along m in order, into partial[(j·cout + col)·blocks + block].
    static void EpilogueSums(double[,,][,] acc, int nt, int m0, int n0, int m, int cout, int block, int blocks, double[] partial)
    {
        int bn = 16 * nt;
        var red = new double[4 * bn * 2];
        for (int warp = 0; warp < 8; warp++)
        {
            int wm = warp & 3, wn = warp >> 2;
            for (int j = 0; j < nt; j++)
            {
                var s = new double[32, 2];
                var q = new double[32, 2];
                for (int l = 0; l < 32; l++)
                {
                    int col = n0 + wn * 8 * nt + j * 8 + (l & 3) * 2;
                    for (int i = 0; i < 2; i++)
                        for (int half = 0; half < 2; half++)
                        {
                            int row = m0 + wm * 32 + i * 16 + half * 8 + (l >> 2);
                            if (col >= cout || row >= m) continue;
                            for (int v = 0; v < 2; v++)
                            {
                                double y = acc[warp, i, j][l, 2 * half + v];
                                s[l, v] += y;
                                q[l, v] += y * y;
                            }
                        }
                }
                for (int o = 4; o < 32; o <<= 1)
                {
                    var (s2, q2) = ((double[,])s.Clone(), (double[,])q.Clone());
                    for (int l = 0; l < 32; l++)
                        for (int v = 0; v < 2; v++) { s[l, v] = s2[l, v] + s2[l ^ o, v]; q[l, v] = q2[l, v] + q2[l ^ o, v]; }
                }
                for (int l = 0; l < 4; l++)
                    for (int v = 0; v < 2; v++)
                    {
                        int cl = wn * 8 * nt + j * 8 + l * 2 + v;
                        red[(wm * bn + cl) * 2] = s[l, v];
                        red[(wm * bn + cl) * 2 + 1] = q[l, v];
                    }
            }
        }
        for (int cl = 0; cl < bn; cl++)
        {
            int col = n0 + cl;
            if (col >= cout) continue;
            double ss = 0, qq = 0;
            for (int wm = 0; wm < 4; wm++) { ss += red[(wm * bn + cl) * 2]; qq += red[(wm * bn + cl) * 2 + 1]; }
            partial[(long)col * blocks + block] = ss;
            partial[((long)cout + col) * blocks + block] = qq;
        }
    }

    /// conv2d.cu's OutMap: output pixel (n, i, j) goes to (n, Oh + Sh·i, Ow + Sw·j) of N × H × W × cout.
    public sealed record OutMap(int H, int W, int Sh, int Sw, int Oh, int Ow);

    /// conv_implicit_forward&lt;nt&gt;: blocks of 128 rows × 16·nt output channels (nt = 8, 4, 2);
    /// with partial, also the epilogue's batch sums; with map, into those places of y.
    static double[] Kernel(double[] x, double[] w, Geometry g, int nt = 8, double[]? partial = null, OutMap? map = null, double[]? y = null)
    {
        int bn = 16 * nt;
        int m = g.M, k = g.K, hw = g.Ho * g.Wo;
        map ??= new OutMap(g.Ho, g.Wo, 1, 1, 0, 0);
        if (y is null)
        {
            y = new double[m * g.Cout];
            Array.Fill(y, double.NaN);
        }
        long Place(int row)
        {
            int n = row / hw, pix = row - n * hw, i = pix / g.Wo, j = pix - i * g.Wo;
            return (((long)n * map.H + map.Oh + map.Sh * i) * map.W + map.Ow + map.Sw * j) * g.Cout;
        }
        for (int bx = 0; bx < (m + Bm - 1) / Bm; bx++)
            for (int by = 0; by < (g.Cout + bn - 1) / bn; by++)
            {
                int m0 = bx * Bm, n0 = by * bn;
                var smemA = new[] { new double[Bm * Ld], new double[Bm * Ld] };
                var smemB = new[] { new double[bn * Ld], new double[bn * Ld] };
                void Load(int stage, int tile)
                {
                    int k0 = tile * Bk;
                    for (int tid = 0; tid < 256; tid++)
                    {
                        int seg = (tid & 3) * 8, kk0 = k0 + seg, c = 0, ki = 0, kj = 0;
                        bool kok = kk0 < k;
                        if (kok) { c = kk0 % g.C; int kk = kk0 / g.C; kj = kk % g.Kw; ki = kk / g.Kw; }
                        for (int i = 0; i < 2; i++)
                        {
                            int r = (tid + 256 * i) >> 2, mm = m0 + r;
                            bool aok = mm < m;
                            int mc = aok ? mm : 0, n = mc / hw, pix = mc - n * hw, oh = pix / g.Wo, ow = pix - oh * g.Wo;
                            int ih = oh * g.Sh - g.Ph + ki, iw = ow * g.Sw - g.Pw + kj;
                            bool ok = aok && kok && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                            for (int e = 0; e < 8; e++) smemA[stage][r * Ld + seg + e] = ok ? x[(long)n * g.H * g.W * g.C + ((long)ih * g.W + iw) * g.C + c + e] : 0;
                        }
                        for (int i = 0; i < (bn * 4 + 255) / 256; i++)
                        {
                            int sgm = tid + 256 * i, co = n0 + (sgm >> 2);
                            if (sgm >= bn * 4) continue;
                            bool okb = co < g.Cout && kok;
                            for (int e = 0; e < 8; e++) smemB[stage][(sgm >> 2) * Ld + seg + e] = okb ? w[(long)co * k + kk0 + e] : 0;
                        }
                    }
                }
                var acc = NewWarpTiles(nt);
                TwoStagePipeline((k + Bk - 1) / Bk, Load, stage =>
                {
                    var sa = smemA[stage];
                    var sb = smemB[stage];
                    for (int warp = 0; warp < 8; warp++)
                    {
                        int wm = warp & 3, wn = warp >> 2;
                        for (int kk = 0; kk < Bk; kk += 16)
                        {
                            var a = new (double, double)[2][,];
                            var b = new (double, double)[4][,];
                            for (int i = 0; i < 2; i++) a[i] = Ldmatrix(sa, l => (wm * 32 + i * 16 + (l & 15)) * Ld + kk + (l >> 4) * 8);
                            for (int j = 0; j < nt / 2; j++) b[j] = Ldmatrix(sb, l => (wn * 8 * nt + j * 16 + (l >> 4) * 8 + (l & 7)) * Ld + kk + ((l >> 3) & 1) * 8);
                            WarpTileMma(acc, warp, a, b, nt);
                        }
                    }
                });
                ForEachOutput(acc, nt, 4, m0, n0, (row, col, v0, v1) =>
                {
                    if (col < g.Cout && row < m) (y[Place(row) + col], y[Place(row) + col + 1]) = (v0, v1);
                });
                if (partial is not null) EpilogueSums(acc, nt, m0, n0, m, g.Cout, bx, (m + Bm - 1) / Bm, partial);
            }
        return y;
    }

    public static IEnumerable<object[]> Shapes() =>
    [
        [new Geometry(2, 8, 9, 8, 16, 3, 3, 1, 1, 1, 1)],   // two m-tiles, K = 72: a k tail
        [new Geometry(2, 5, 3, 16, 24, 3, 3, 2, 2, 1, 1)],  // stride 2, odd sizes
        [new Geometry(1, 3, 3, 8, 136, 3, 3, 1, 1, 1, 1)],  // two co-tiles, the second 8 wide
        [new Geometry(1, 12, 12, 8, 8, 1, 1, 2, 2, 0, 0)],  // 1×1 stride 2
        [new Geometry(1, 6, 6, 32, 16, 6, 6, 2, 2, 2, 2)],  // 6×6 / 2, several k-tiles
    ];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheKernelsTilesComputeTheConvolution(Geometry g)
    {
        foreach (int nt in new[] { 8, 4, 2 }) CheckForward(g, nt);
    }

    static void CheckForward(Geometry g, int nt)
    {
        var rng = new Random(7);
        var x = Uniform(rng, g.N * g.H * g.W * g.C);
        var w = Uniform(rng, g.Cout * g.K);
        var expected = Direct(x, w, g);
        var actual = Kernel(x, w, g, nt);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) < 1e-9, $"{g}, {16 * nt} channels a block: y[{i}] = {actual[i]}, a direct convolution gives {expected[i]}");
    }

    /// The tile width (output channels a block) changes which block computes an output, not the
    /// order of its sums: the widths TileChoices picks between give the same numbers, to the bit.
    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryTileWidthGivesTheSameSums(Geometry g)
    {
        var rng = new Random(9);
        var x = Uniform(rng, g.N * g.H * g.W * g.C);
        var w = Uniform(rng, g.Cout * g.K);
        var wide = Kernel(x, w, g, 8);
        Assert.Equal(wide, Kernel(x, w, g, 4));
        Assert.Equal(wide, Kernel(x, w, g, 2));
        var gy = Uniform(rng, g.M * g.Cout);
        Assert.Equal(WeightGradientKernel(x, gy, g, 32, 4), WeightGradientKernel(x, gy, g, 32, 2));
    }

    /// BatchNorm's batch sums from the forward's epilogue: per block of 128 rows and per column, Σy
    /// and Σy² of exactly the outputs the block stored (no row past m, no column past cout, each
    /// once), for every tile width.
    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheEpilogueSumsEachBlocksOutputsOnce(Geometry g)
    {
        var rng = new Random(19);
        var x = Uniform(rng, g.N * g.H * g.W * g.C);
        var w = Uniform(rng, g.Cout * g.K);
        int blocks = (g.M + Bm - 1) / Bm;
        foreach (int nt in new[] { 8, 4, 2 })
        {
            var partial = new double[2 * g.Cout * blocks];
            Array.Fill(partial, double.NaN);
            var y = Kernel(x, w, g, nt, partial);
            for (int b = 0; b < blocks; b++)
                for (int co = 0; co < g.Cout; co++)
                {
                    double s = 0, q = 0;
                    for (int r = b * Bm; r < Math.Min(g.M, (b + 1) * Bm); r++) { double v = y[r * g.Cout + co]; s += v; q += v * v; }
                    Assert.True(Math.Abs(partial[co * blocks + b] - s) < 1e-9, $"{g}, {16 * nt} wide: block {b} Σy[{co}] = {partial[co * blocks + b]}, expected {s}");
                    Assert.True(Math.Abs(partial[(g.Cout + co) * blocks + b] - q) < 1e-9, $"{g}, {16 * nt} wide: block {b} Σy²[{co}] = {partial[(g.Cout + co) * blocks + b]}, expected {q}");
                }
        }
    }

    public static IEnumerable<object[]> InputGradientShapes() =>
    [
        [new Geometry(2, 8, 9, 8, 16, 3, 3, 1, 1, 1, 1)],   // stride 1: one phase, every tap
        [new Geometry(1, 6, 6, 16, 8, 3, 3, 1, 1, 1, 1)],
        [new Geometry(1, 7, 6, 8, 8, 5, 5, 1, 1, 2, 2)],
        [new Geometry(2, 7, 6, 8, 16, 3, 3, 2, 2, 1, 1)],   // stride 2, odd and even sizes: taps 1 and 2 per axis
        [new Geometry(1, 8, 8, 16, 8, 3, 3, 2, 2, 0, 0)],   // stride 2 without padding
        [new Geometry(1, 12, 10, 8, 16, 6, 6, 2, 2, 2, 2)], // the stem's 6×6 / 2
        [new Geometry(1, 7, 5, 8, 8, 1, 1, 2, 2, 0, 0)],    // 1×1 / 2: phases no tap reaches are zero
        [new Geometry(1, 11, 9, 8, 8, 5, 5, 3, 3, 1, 2)],   // stride 3, uneven padding: a negative phase padding
    ];

    /// The B operand the input gradient's kernel reads in place (FlippedWeights), as a copy:
    /// W'[ci, ti, tj, co] = W[co, rh + sh·(th-1-ti), rw + sw·(tw-1-tj), ci].
    static double[] PhaseWeights(double[] w, Geometry g, InputGradientPhase p)
    {
        var phase = new double[g.C * p.Th * p.Tw * g.Cout];
        for (long i = 0; i < phase.Length; i++)
        {
            int co = (int)(i % g.Cout);
            long r = i / g.Cout;
            int tj = (int)(r % p.Tw), ti = (int)(r / p.Tw % p.Th), ci = (int)(r / p.Tw / p.Th);
            phase[i] = w[(((long)co * g.Kh + p.Rh + g.Sh * (p.Th - 1 - ti)) * g.Kw + p.Rw + g.Sw * (p.Tw - 1 - tj)) * g.C + ci];
        }
        return phase;
    }

    /// The input gradient as the backend computes it (ImplicitInputGradient): InputGradientPhase's
    /// plan, FlippedWeights' index math, then the emulated kernel on gy per phase, written into
    /// its rows and columns of gx (zeros first where some phase has no tap), against the adjoint of
    /// the direct convolution. Every element of gx is written.
    [Theory]
    [MemberData(nameof(InputGradientShapes))]
    public void TheInputGradientIsAForwardConvolutionPerPhaseOfTheStride(Geometry g)
    {
        var rng = new Random(11);
        var w = Uniform(rng, g.Cout * g.K);
        var gy = Uniform(rng, g.M * g.Cout);
        var expected = new double[g.N * g.H * g.W * g.C];
        ForEachTap(g, (yi, xi, wi) => { for (int c = 0; c < g.C; c++) expected[xi + c] += gy[yi] * w[wi + c]; });
        var phases = InputGradientPhase.Plan(g.H, g.W, g.Kh, g.Kw, g.Sh, g.Sw, g.Ph, g.Pw);
        Assert.Equal(g.Sh * g.Sw, phases.Count);
        var gx = new double[expected.Length];
        Array.Fill(gx, phases.Any(p => !p.HasTaps) ? 0 : double.NaN);
        foreach (var p in phases.Where(p => p.HasTaps))
        {
            var t = new Geometry(g.N, g.Ho, g.Wo, g.Cout, g.C, p.Th, p.Tw, 1, 1, p.Ph, p.Pw, p.Hp, p.Wp);
            Kernel(gy, PhaseWeights(w, g, p), t, map: new OutMap(g.H, g.W, g.Sh, g.Sw, p.A, p.B), y: gx);
        }
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(gx[i] - expected[i]) < 1e-9, $"{g}: gx[{i}] = {gx[i]}, the adjoint gives {expected[i]}");
    }

    public static IEnumerable<object[]> WeightGradientShapes() =>
    [
        [new Geometry(2, 8, 9, 8, 16, 3, 3, 1, 1, 1, 1), 32],    // four slices of 32 pixels plus a short one
        [new Geometry(2, 5, 3, 16, 24, 3, 3, 2, 2, 1, 1), 1024], // one slice, stride 2
        [new Geometry(1, 3, 3, 8, 136, 3, 3, 1, 1, 1, 1), 64],   // two co-tiles
        [new Geometry(1, 6, 6, 32, 16, 6, 6, 2, 2, 2, 2), 32],   // K = 1152: ten k-tiles
    ];

    [Theory]
    [MemberData(nameof(WeightGradientShapes))]
    public void TheWeightGradientKernelsTilesAndSlicesSumToThePatchProducts(Geometry g, int perSplit)
    {
        var rng = new Random(13);
        var x = Uniform(rng, g.N * g.H * g.W * g.C);
        var gy = Uniform(rng, g.M * g.Cout);
        var expected = new double[g.Cout * g.K];
        ForEachTap(g, (yi, xi, wi) => { for (int c = 0; c < g.C; c++) expected[wi + c] += gy[yi] * x[xi + c]; });
        foreach (int wm in new[] { 4, 2 })
        {
            var actual = WeightGradientKernel(x, gy, g, perSplit, wm);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(actual[i] - expected[i]) < 1e-9, $"{g}, {32 * wm} co a block: gw[{i}] = {actual[i]}, the patch products give {expected[i]}");
        }
    }

    /// copy_channels: y[r, c] = c < cx ? x[r, c] : 0 for c < cy.
    static double[] CopyChannels(double[] x, int cx, int cy)
    {
        long rows = x.Length / cx;
        var y = new double[rows * cy];
        for (long i = 0; i < y.Length; i++)
        {
            long r = i / cy;
            int c = (int)(i - r * cy);
            y[i] = c < cx ? x[r * cx + c] : 0;
        }
        return y;
    }

    /// The 3-channel stem as the backend runs it: images and weights padded to 8 channels, the
    /// forward and weight-gradient kernels on those, the gradient cut back to 3 channels.
    [Fact]
    public void TheStemRunsOnChannelsPaddedToEight()
    {
        var g = new Geometry(2, 12, 10, 3, 16, 6, 6, 2, 2, 2, 2);
        var padded = g with { C = 8 };
        var rng = new Random(17);
        var x = Uniform(rng, g.N * g.H * g.W * g.C);
        var w = Uniform(rng, g.Cout * g.K);
        var gy = Uniform(rng, g.M * g.Cout);
        var y = Kernel(CopyChannels(x, 3, 8), CopyChannels(w, 3, 8), padded);
        var expected = Direct(x, w, g);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(y[i] - expected[i]) < 1e-9, $"y[{i}] = {y[i]}, expected {expected[i]}");
        var gw = CopyChannels(WeightGradientKernel(CopyChannels(x, 3, 8), gy, padded, 64, wmCount: 2), 8, 3); // 16 channels: the 64-wide tile
        // The weight gradient is the forward's derivative: Σ y·gy = Σ w·gw for a linear map.
        double lhs = Direct(x, w, g).Zip(gy, (a, b) => a * b).Sum(), rhs = w.Zip(gw, (a, b) => a * b).Sum();
        Assert.Equal(lhs, rhs, 1e-9 * Math.Abs(lhs) + 1e-9);
        Assert.Equal(g.Cout * g.K, gw.Length);
    }
}
