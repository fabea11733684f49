// Tests run one at a time: loaders start their own worker threads and the machine is small.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

/// The backends these tests run on, installed before any test does.
static class BackendSetup
{
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Install() => YoloCore.Backends.Use(YoloCore.Cpu.CpuBackend.Create);
}
