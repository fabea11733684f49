using BenchmarkDotNet.Running;
using YoloCore.Benchmarks;

// BenchmarkDotNet by default: dotnet run -c Release --project benchmarks/YoloCore.Benchmarks -- --filter '*Gemm*'
// The comparison table: ... -- --conv-table [--runs 10] [--warmup 3]
if (args.Length > 0 && args[0] == "--conv-table")
{
    int Arg(string name, int fallback) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
    ConvTable.Run(Arg("--runs", 10), Arg("--warmup", 3));
    return;
}
// The data pipeline's images/s per core on coco128: ... -- --data-table [--runs 5]
if (args.Length > 0 && args[0] == "--data-table") { DataTable.Run(args); return; }
BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args);
