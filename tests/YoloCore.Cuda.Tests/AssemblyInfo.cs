[assembly: CollectionBehavior(DisableTestParallelization = true)]

/// The repository root (the folder holding YoloCore.sln) above the test assembly.
static class Repo
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "YoloCore.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find YoloCore.sln above " + AppContext.BaseDirectory);
        }
    }
}

/// The backends these tests run on, and the op table's rows from above Core, installed before any test runs.
static class BackendSetup
{
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Install()
    {
        YoloCore.Backends.Use(YoloCore.Cpu.CpuBackend.Create, YoloCore.Cuda.CudaBackend.Create);
        YoloCore.Diagnostics.OpCatalog.Add(YoloCore.Nn.Yolo.YoloLossOp.Catalog, YoloCore.Nn.Yolo.YoloLossOp.Wide);
    }
}
