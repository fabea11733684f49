using System.Text.Json;

namespace YoloCore.Benchmarks;

/// `--gemm-table`: GFLOP/s of the float32 GEMM for 1024³ and the three GEMMs of each yolov5n
/// convolution at 320 px, batch 8 (median of timed runs after warm-up), one JSON object per line.
/// BenchmarkDotNet's GemmBenchmarks measures the same cases more carefully and more slowly.
public static unsafe class GemmTable
{
    public static void Run(int runs, int warmup)
    {
        foreach (var c in GemmBenchmarks.Cases())
        {
            var bench = new GemmBenchmarks { Shape = c };
            bench.Setup();
            double median = MedianTime.Of(() => bench.Sgemm(), runs, warmup);
            bench.Cleanup();
            Console.WriteLine(JsonSerializer.Serialize(new { name = c.Name, m = c.M, n = c.N, k = c.K, ms = median, gflops = 2.0 * c.M * c.N * c.K / median / 1e6 }));
        }
    }
}
