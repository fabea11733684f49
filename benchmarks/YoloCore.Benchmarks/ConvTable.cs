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
            double median = MedianTime.Of(step.Run, runs, warmup);
            Console.WriteLine(JsonSerializer.Serialize(new { name = s.Name, count = s.Count, yolocore_ms = median, gflops = s.TrainFlops / median / 1e6 }));
        }
    }
}
