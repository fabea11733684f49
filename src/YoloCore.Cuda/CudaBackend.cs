using YoloCore.Native;

namespace YoloCore.Cuda;

/// The CUDA backend for one GPU. Every op is queued on the device's stream; the host waits only
/// when it reads data back. Activations compute in float32 or float16 with float32 accumulation;
/// BatchNorm parameters, statistics and optimizer state are float32. Each op X lives in Ops/X.cs,
/// named as in Core's and the CPU backend's Ops/, with its kernels in kernels/x.cu (lowercase).
public sealed unsafe partial class CudaBackend : IBackend, IYoloLoss, IOptimizerKernels
{
    static readonly Dictionary<int, CudaBackend> instances = [];

    readonly CudaDevice gpu;
    readonly CachingAllocator allocator;
    readonly KernelRegistry registry;
    /// Every kernel as a typed method (Kernels.cs, generated from kernels/*.cu).
    readonly Kernels kernel;
    readonly cublasHandle blas;
    readonly ulong blasWorkspace;
    const ulong BlasWorkspaceBytes = 32 << 20;
    /// Zeroed counters for kernels whose last block reduces (common.cuh's last_to_arrive): one per
    /// group of blocks that reduce together; each launch leaves the ones it used at 0 again.
    readonly ulong tickets;
    internal const int TicketCount = 1 << 16;
    readonly ExtensionOps extensions;
    readonly CudaGraphCapture capture;

    CudaBackend(Device device)
    {
        Device = device;
        gpu = new CudaDevice(device.Index);
        allocator = new CachingAllocator(gpu);
        registry = new KernelRegistry(gpu);
        kernel = new Kernels(this);
        blas = Cublas.Create();
        Cublas.SetStream(blas, gpu.Stream);
        blasWorkspace = allocator.Allocate(BlasWorkspaceBytes, out _);
        Cublas.SetWorkspace(blas, blasWorkspace, BlasWorkspaceBytes);
        // Default math: float32 GEMMs stay exact (no TF32), float16 ones use tensor cores.
        Cublas.SetMathMode(blas, cublasMath_t.CUBLAS_DEFAULT_MATH);
        tickets = allocator.Allocate(TicketCount * sizeof(uint), out _);
        CudaDriver.MemsetD32(tickets, 0, TicketCount);
        capture = new CudaGraphCapture(this, gpu, allocator);
        extensions = new ExtensionOps(device).Add<IYoloLoss>(this).Add<IOptimizerKernels>(this).Add<IGraphCapture>(capture);
    }

    public T Extension<T>() where T : class => extensions.Get<T>();

    /// Called by Backends the first time a cuda:N tensor is made.
    public static IBackend Create(Device device)
    {
        if (device.IsCpu) throw new ArgumentException("the CUDA backend does not own the CPU");
        lock (instances)
        {
            if (!instances.TryGetValue(device.Index, out var b)) instances[device.Index] = b = new CudaBackend(device);
            return b;
        }
    }

    public Device Device { get; }

    /// How many CUDA devices this machine has (0 without a driver).
    public static int DeviceCount()
    {
        try
        {
            CudaDriver.Init();
            return CudaDriver.DeviceGetCount();
        }
        catch (Exception e) when (e is DllNotFoundException or NativeCallException) { return 0; }
    }
    public string DeviceName => gpu.Name;
    public (int Major, int Minor) ComputeCapability => gpu.ComputeCapability;
    public ulong TotalMemory => gpu.TotalMemory;
    public string KernelTarget => registry.Target;
    public string KernelCacheDirectory => registry.CacheDirectory;
    public (int Compiled, int FromCache) KernelStats => (registry.Compiled, registry.LoadedFromCache);

    /// Bytes held by tensors, reserved from the driver, and their peaks (the allocator's view; the peak of held bytes counts what live graphs hold for their replays).
    public (ulong Allocated, ulong Reserved, ulong PeakAllocated, ulong PeakReserved) AllocatorStats =>
        (allocator.Allocated, allocator.Reserved, allocator.PeakAllocated, allocator.PeakReserved);

    public void ResetPeakMemory() => allocator.ResetPeaks();

    /// Waits until every queued op has finished (timing, and reading results back).
    public void Synchronize()
    {
        capture.Refuse(nameof(Synchronize));
        gpu.Synchronize();
    }

    /// Returns cached, unused device memory to the driver.
    public void EmptyCache() => allocator.ReleaseCached();

    public Storage Allocate(long bytes) => new CudaStorage(Device, bytes, allocator);

    internal CUstream ComputeStream => gpu.Stream;
    internal void MakeCurrent() => gpu.MakeCurrent();

    internal static ulong Ptr(Tensor t) => t.Storage is CudaStorage s ? s.Pointer : throw new ArgumentException($"{t} is not on a CUDA device");

    static ulong PtrOrNull(Tensor? t) => t is null ? 0UL : Ptr(t);

    /// Ticket counters left nonzero (doctor --check): 0 unless some launch's blocks did not all
    /// take their ticket, which would leave the next launch that uses the counter short.
    public int TicketsInUse()
    {
        capture.Refuse(nameof(TicketsInUse));
        var host = new uint[TicketCount];
        gpu.MakeCurrent();
        fixed (uint* p = host)
        {
            CudaDriver.MemcpyDtoHAsync(p, tickets, TicketCount * sizeof(uint), gpu.Stream);
            gpu.Synchronize();
        }
        return host.Count(t => t != 0);
    }

    /// The ticket counters for a launch whose blocks reduce in `groups` groups.
    ulong Tickets(long groups) => groups <= TicketCount ? tickets
        : throw new NotSupportedException($"a reduction in {groups} groups needs more than the {TicketCount} ticket counters");

    /// "f32" or "f16": the kernel suffix for a float tensor; anything else is refused with the reason.
    static string Suffix(Tensor t, string op) => t.DType switch
    {
        DType.Float32 => "f32",
        DType.Float16 => "f16",
        _ => throw new NotSupportedException($"{op} on CUDA computes in float32 or float16, not {t.DType.Name()} ({t})"),
    };

    /// How a kernel is spread over the GPU: over n elements with a grid-stride loop (256 threads
    /// per block, at most 8192 blocks; a long converts to this), or on an explicit grid.
    internal readonly record struct Work(long Elements, (uint X, uint Y, uint Z)? Blocks = null)
    {
        public static implicit operator Work(long elements) => new(elements);
        public static Work Grid(uint x, uint y = 1, uint z = 1) => new(0, (x, y, z));
    }

    /// Work items queued on the compute stream so far: kernel launches, cuBLAS GEMMs, device
    /// copies and fills (what a CUDA graph would replace; `bench --json` reports them per step).
    public long Launches { get; private set; }

    /// Launches by what they were: a kernel's name, "cuBLAS GEMM", "device copy", "fill", "upload"
    /// or "graph replay" (`bench --profile` lists the most frequent).
    public IReadOnlyDictionary<string, long> LaunchesByWork => launchesByWork;
    readonly Dictionary<string, long> launchesByWork = [];

    internal void CountLaunch(string what)
    {
        Launches++;
        launchesByWork[what] = launchesByWork.GetValueOrDefault(what) + 1;
    }

    /// Launches kernels/file.cu's `name`; args points at each parameter's value (Kernels.cs).
    internal void Launch(string file, string name, Work work, void** args)
    {
        if (work.Elements <= 0 && work.Blocks is null) return;
        gpu.MakeCurrent();
        CountLaunch(name);
        var f = registry.Get(file, name);
        const uint block = 256;
        var g = work.Blocks ?? ((uint)Math.Clamp((work.Elements + block - 1) / block, 1, 8192), 1u, 1u);
        CudaDriver.LaunchKernel(f, g, (block, 1, 1), 0, gpu.Stream, args);
    }
}
