using BenchmarkDotNet.Running;
using YoloCore.Benchmarks;

// BenchmarkDotNet by default:  dotnet run -c Release --project benchmarks/YoloCore.Benchmarks -- --filter '*Gemm*'
// Quick same-method tables (median of timed runs after warm-up, one JSON line per case):
//   -- --gemm-table [--runs 9] [--warmup 2]     GFLOP/s of 1024³ and yolov5n's convolution GEMMs
//   -- --conv-table [--runs 10] [--warmup 3]    yolov5n's convolutions, for benchmarks/compare-conv-cpu.sh
//   -- --data-table [--runs 5]                  the data pipeline's images/s per core on coco128
YoloCore.Backends.Use(YoloCore.Cpu.CpuBackend.Create);
int Arg(string name, int fallback) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
switch (args.FirstOrDefault())
{
    case "--gemm-table": GemmTable.Run(Arg("--runs", 9), Arg("--warmup", 2)); break;
    case "--conv-table": ConvTable.Run(Arg("--runs", 10), Arg("--warmup", 3)); break;
    case "--data-table": DataTable.Run(args); break;
    default: BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args); break;
}
