using YoloCore.Cpu;
// Sgemm and the reference GEMM (float64) against a naive double-precision triple loop: all four transpose
// combinations, odd sizes, padded leading dimensions, accumulate on/off, 1 and 2
// threads, every kernel the CPU supports, the split-k path, and bit-exact determinism.
using Xunit;


namespace YoloCore.Tests.Gemm;

public sealed unsafe class SgemmTests : IDisposable
{
    private const double Tolerance = 1e-5;

    // m, n, k: odd sizes, sizes straddling MR/NR/KC/MC edges, vectors, and shapes big
    // enough to take the packed and the multithreaded paths.
    private static readonly (int m, int n, int k)[] Shapes =
    {
        (1, 1, 1), (1, 7, 17), (7, 1, 33), (17, 33, 1), (7, 17, 33), (33, 17, 7), (33, 33, 33),
        (129, 7, 33), (7, 129, 17), (17, 33, 129), (129, 129, 129), (13, 31, 300), (25, 47, 513),
        (150, 70, 257), (300, 100, 40), (40, 300, 300), (1, 300, 300), (300, 1, 300),
        (291, 97, 600), (5, 4100, 9), (64, 48, 2000), (145, 33, 260),
        (40, 48, 512), (30, 512, 70),   // ld a multiple of 512: in-place reads are disabled
    };

    private readonly SgemmIsa _savedIsa = Sgemm.ForceIsa;
    private readonly int _savedThreads = Sgemm.MaxThreads;

    public void Dispose()
    {
        Sgemm.ForceIsa = _savedIsa;
        Sgemm.MaxThreads = _savedThreads;
    }

    public static IEnumerable<object[]> Configs()
    {
        foreach (SgemmIsa isa in new[] { SgemmIsa.Avx512, SgemmIsa.Avx2, SgemmIsa.Scalar })
            foreach (int threads in new[] { 1, 2 })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        yield return new object[] { isa.ToString(), threads, ta, tb };
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void MatchesReference(string isaName, int threads, bool transA, bool transB)
    {
        var isa = Enum.Parse<SgemmIsa>(isaName);
        Sgemm.ForceIsa = isa;   // capped at what the CPU supports
        Sgemm.MaxThreads = threads;
        var rng = new Random(1234);
        foreach (var (m, n, k) in Shapes)
            foreach (bool accumulate in new[] { false, true })
            {
                int pad = rng.Next(0, 5);
                Check(transA, transB, m, n, k, pad, accumulate, rng, $"{isa} T={threads} m={m} n={n} k={k} acc={accumulate}");
            }
    }

    [Fact]
    public void SplitKIsChosenForWeightGradientShapesAndIsAccurate()
    {
        // dW = dYᵀ·Col: m·n small, k huge.
        Assert.Equal(SgemmSplit.K, SgemmParallel.Plan<SgemmKernel512>(16, 108, 20000, 2).Item1);
        Assert.Equal(SgemmSplit.K, SgemmParallel.Plan<SgemmKernel256>(32, 144, 5000, 2).Item1);
        Assert.Equal(SgemmSplit.M, SgemmParallel.Plan<SgemmKernel512>(20000, 16, 108, 2).Item1);
        foreach (SgemmIsa isa in new[] { SgemmIsa.Avx512, SgemmIsa.Avx2, SgemmIsa.Scalar })
        {
            Sgemm.ForceIsa = isa;
            Sgemm.MaxThreads = 2;
            var rng = new Random(7);
            foreach (bool acc in new[] { false, true })
            {
                Check(true, false, 16, 108, 20000, 3, acc, rng, $"{isa} splitk acc={acc}");
                Check(true, false, 33, 17, 5000, 0, acc, rng, $"{isa} splitk odd acc={acc}");
                Check(false, true, 7, 40, 3000, 1, acc, rng, $"{isa} splitk NT acc={acc}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void RepeatedRunsAreBitIdentical(int threads)
    {
        Sgemm.MaxThreads = threads;
        var rng = new Random(99);
        foreach (var (ta, tb, m, n, k) in new[]
        {
            (true, false, 16, 108, 30000),   // split-k at 2 threads
            (false, true, 3000, 16, 108),    // tall-skinny forward
            (false, false, 300, 300, 300),
            (true, true, 77, 301, 513),
        })
        {
            using var a = GemmTestUtil.RandomF(ta ? k : m, ta ? m : k, 0, rng);
            using var b = GemmTestUtil.RandomF(tb ? n : k, tb ? k : n, 0, rng);
            using var c1 = new Mat<float>(m, n, n);
            using var c2 = new Mat<float>(m, n, n);
            for (int rep = 0; rep < 3; rep++)
            {
                Sgemm.Multiply(ta, tb, m, n, k, a.Ptr, a.Ld, b.Ptr, b.Ld, c1.Ptr, n, false);
                Sgemm.Multiply(ta, tb, m, n, k, a.Ptr, a.Ld, b.Ptr, b.Ld, c2.Ptr, n, false);
                Assert.True(c1.All.SequenceEqual(c2.All), $"run-to-run difference m={m} n={n} k={k}");
            }
        }
    }

    [Fact]
    public void RowAndColumnSplitsMatchSingleThreadBitwise()
    {
        // Only the k-split changes the summation order; M/N splits must not.
        var rng = new Random(5);
        foreach (var (ta, tb, m, n, k) in new[] { (false, true, 5000, 32, 144), (false, false, 40, 2000, 64) })
        {
            using var a = GemmTestUtil.RandomF(ta ? k : m, ta ? m : k, 0, rng);
            using var b = GemmTestUtil.RandomF(tb ? n : k, tb ? k : n, 0, rng);
            using var c1 = new Mat<float>(m, n, n);
            using var c2 = new Mat<float>(m, n, n);
            Sgemm.MaxThreads = 1;
            Sgemm.Multiply(ta, tb, m, n, k, a.Ptr, a.Ld, b.Ptr, b.Ld, c1.Ptr, n, false);
            Sgemm.MaxThreads = 2;
            Sgemm.Multiply(ta, tb, m, n, k, a.Ptr, a.Ld, b.Ptr, b.Ld, c2.Ptr, n, false);
            Assert.True(c1.All.SequenceEqual(c2.All));
        }
    }

    [Fact]
    public void ConcurrentAndNestedCallsAreIndependent()
    {
        // Several GEMMs at once from pool threads, each itself multithreaded: per-thread
        // scratch must never be shared between two calls in flight.
        Sgemm.MaxThreads = 2;
        var rng = new Random(11);
        var cases = new (bool ta, bool tb, int m, int n, int k)[]
        {
            (false, true, 700, 40, 300), (true, false, 24, 100, 9000), (false, false, 150, 300, 280), (true, true, 90, 77, 600),
        };
        var inputs = cases.Select(cs => (a: GemmTestUtil.RandomF(cs.ta ? cs.k : cs.m, cs.ta ? cs.m : cs.k, 0, rng),
                                         b: GemmTestUtil.RandomF(cs.tb ? cs.n : cs.k, cs.tb ? cs.k : cs.n, 0, rng))).ToArray();
        var expected = new float[cases.Length][];
        for (int i = 0; i < cases.Length; i++)
        {
            var cs = cases[i];
            using var c = new Mat<float>(cs.m, cs.n, cs.n);
            Sgemm.Multiply(cs.ta, cs.tb, cs.m, cs.n, cs.k, inputs[i].a.Ptr, inputs[i].a.Ld, inputs[i].b.Ptr, inputs[i].b.Ld, c.Ptr, cs.n, false);
            expected[i] = c.All.ToArray();
        }
        Parallel.For(0, 4 * cases.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, job =>
        {
            int i = job % cases.Length;
            var cs = cases[i];
            using var c = new Mat<float>(cs.m, cs.n, cs.n);
            Sgemm.Multiply(cs.ta, cs.tb, cs.m, cs.n, cs.k, inputs[i].a.Ptr, inputs[i].a.Ld, inputs[i].b.Ptr, inputs[i].b.Ld, c.Ptr, cs.n, false);
            Assert.True(c.All.SequenceEqual(expected[i]), $"case {i} differs when run concurrently");
        });
        foreach (var (a, b) in inputs) { a.Dispose(); b.Dispose(); }
    }

    [Fact]
    public void KZeroClearsOrKeepsC()
    {
        using var c = GemmTestUtil.RandomF(3, 5, 2, new Random(3));
        float keep = c[2, 4];
        Sgemm.Multiply(false, false, 3, 5, 0, null, 1, null, 5, c.Ptr, c.Ld, true);
        Assert.Equal(keep, c[2, 4]);
        Sgemm.Multiply(false, false, 3, 5, 0, null, 1, null, 5, c.Ptr, c.Ld, false);
        Assert.Equal(0f, c[2, 4]);
        Assert.True(GemmTestUtil.PaddingIntact(c));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void TheReferenceGemmMatchesInFloat64(bool transA, bool transB)
    {
        var rng = new Random(42);
        foreach (var (m, n, k) in Shapes)
            foreach (bool accumulate in new[] { false, true })
            {
                int pad = rng.Next(0, 4);
                using var a = GemmTestUtil.RandomD(transA ? k : m, transA ? m : k, pad, rng);
                using var b = GemmTestUtil.RandomD(transB ? n : k, transB ? k : n, pad, rng);
                using var c = GemmTestUtil.RandomD(m, n, pad, rng);
                double[] want = GemmTestUtil.Reference(transA, transB, m, n, k, a, b, c, accumulate);
                YoloCore.Cpu.Gemm.Multiply(false, transA, transB, m, n, k, a.Ptr, a.Ld, b.Ptr, b.Ld, c.Ptr, c.Ld, accumulate);
                Assert.True(GemmTestUtil.RelError(c, want, m, n) < 1e-12, $"m={m} n={n} k={k}");
            }
    }

    private static void Check(bool transA, bool transB, int m, int n, int k, int pad, bool accumulate, Random rng, string what)
    {
        using var a = GemmTestUtil.RandomF(transA ? k : m, transA ? m : k, pad, rng);
        using var b = GemmTestUtil.RandomF(transB ? n : k, transB ? k : n, pad + 1, rng);
        using var c = GemmTestUtil.RandomF(m, n, pad + 2, rng);
        double[] want = GemmTestUtil.Reference(transA, transB, m, n, k, a, b, c, accumulate);
        if (!accumulate)   // C's old contents must be ignored entirely
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) c[i, j] = float.NaN;
        Sgemm.Multiply(transA, transB, m, n, k, a.Ptr, a.Ld, b.Ptr, b.Ld, c.Ptr, c.Ld, accumulate);
        double err = GemmTestUtil.RelError(c, want, m, n);
        Assert.True(err <= Tolerance, $"{what} ta={transA} tb={transB}: rel err {err:E2}");
        Assert.True(GemmTestUtil.PaddingIntact(c), $"{what}: wrote outside C");
    }
}
