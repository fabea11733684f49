using System.Diagnostics;
using System.Text.Json;

namespace YoloCore.Benchmarks;

/// `--conv-table`: times every yolov5n convolution exactly as benchmarks/pytorch/conv_shapes.py
/// times PyTorch's (warm-up runs, then the median of timed runs of forward + backward) and prints
/// one JSON object per shape, so compare-conv-cpu.sh can put the two engines side by side.
public static class ConvTable
{
    public static void Run(int runs, int warmup)
    {
        foreach (var s in ConvShape.Load())
        {
            using var step = new ConvStep(s);
            for (int i = 0; i < warmup; i++) step.Run();
            var ms = new List<double>();
            for (int i = 0; i < runs; i++)
            {
                var t = Stopwatch.GetTimestamp();
                step.Run();
                ms.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
            ms.Sort();
            double median = ms.Count % 2 == 1 ? ms[ms.Count / 2] : (ms[ms.Count / 2 - 1] + ms[ms.Count / 2]) / 2;
            Console.WriteLine(JsonSerializer.Serialize(new { name = s.Name, count = s.Count, yolocore_ms = median, gflops = s.TrainFlops / median / 1e6 }));
        }
    }
}
