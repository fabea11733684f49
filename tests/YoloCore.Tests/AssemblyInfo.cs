// Tests run one at a time: the ops already use every core, and memory tests read process-wide
// live-byte counters that concurrent tests would disturb.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

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
