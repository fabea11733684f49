using BenchmarkDotNet.Attributes;
using YoloCore.Cpu;

namespace YoloCore.Benchmarks;

/// Float32 GEMM throughput for 1024³ and the three GEMMs of each yolov5n convolution
/// (forward, input gradient, weight gradient). GFLOP/s = 2·m·n·k / mean time.
public unsafe class GemmBenchmarks
{
    public sealed record Case(string Name, bool TransA, bool TransB, int M, int N, int K)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Case> Cases()
    {
        yield return new Case("1024^3", false, false, 1024, 1024, 1024);
        foreach (var s in ConvShape.Load())
        {
            var (m, n, k) = s.Gemm;
            yield return new Case($"{s.Name} fwd", false, true, m, n, k);
            if (s.InputGrad) yield return new Case($"{s.Name} dX", false, false, m, k, n);
            yield return new Case($"{s.Name} dW", true, false, n, k, m);
        }
    }

    [ParamsSource(nameof(Cases))]
    public Case Shape { get; set; } = null!;

    float* a, b, c;

    [GlobalSetup]
    public void Setup()
    {
        long sa = (long)Shape.M * Shape.K, sb = (long)Shape.K * Shape.N, sc = (long)Shape.M * Shape.N;
        a = Alloc(sa);
        b = Alloc(sb);
        c = Alloc(sc);
    }

    static float* Alloc(long n)
    {
        var p = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(n * 4), 64);
        var rng = new Rng(1);
        for (long i = 0; i < n; i++) p[i] = (float)rng.NextDouble() - 0.5f;
        return p;
    }

    [Benchmark]
    public void Sgemm()
    {
        var s = Shape;
        int lda = s.TransA ? s.M : s.K, ldb = s.TransB ? s.K : s.N;
        YoloCore.Cpu.Sgemm.Multiply(s.TransA, s.TransB, s.M, s.N, s.K, a, lda, b, ldb, c, s.N, false);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree(a);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(b);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(c);
    }
}
