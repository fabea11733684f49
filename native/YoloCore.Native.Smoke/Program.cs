// GPU smoke test of YoloCore.Native: every binding used once for real, every result compared with a
// CPU computation. Prints one OK/FAIL line per step (with the error), a summary table last, and exits
// 0 only if all steps pass. Usage: YoloCore.Native.Smoke [device-ordinal]
using System.Diagnostics;
using YoloCore.Native;

namespace YoloCore.Native.Smoke;

internal static unsafe class Program
{
    private const string SaxpySource = """
        extern "C" __global__ void saxpy(float a, const float* __restrict__ x, float* __restrict__ y, unsigned int n)
        {
            unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] = a * x[i] + y[i];
        }
        """;

    private static readonly List<(string Step, bool Ok, string Detail)> Results = [];
    private static int device;
    private static bool haveContext;
    private static CUfunction saxpy;
    private static CUmodule saxpyModule;

    private static int Main(string[] args)
    {
        device = args.Length > 0 ? int.Parse(args[0]) : 0;
        Console.WriteLine($"YoloCore.Native smoke test, device {device}");
        foreach (var lib in Enum.GetValues<NativeLib>())
            Console.WriteLine(NativeLibraries.TryProbe(lib, out var path, out _)
                ? $"  {lib,-9} {path}"
                : $"  {lib,-9} (not found)");

        Step("entry-points", EntryPoints);
        Step("driver", Driver);
        Step("nvrtc-version", NvrtcVersion);
        Step("cublas-version", () => $"cuBLAS {Cublas.GetVersion()}, cuBLASLt {CublasLt.GetVersion()}");
        Step("nccl-version", () => $"NCCL {Nccl.GetVersion()} (code {Nccl.GetVersionCode()})");
        Step("nvrtc-saxpy", SaxpyKernel);
        Step("graph-events", GraphAndEvents);
        Step("cublas-sgemm", CublasSgemm);
        Step("cublaslt-bias", CublasLtBias);
        Step("nccl-allreduce", NcclOneRank);

        if (!saxpyModule.IsNull)
            Try(() => CudaDriver.ModuleUnload(saxpyModule));
        if (haveContext)
            Try(() => CudaDriver.DevicePrimaryCtxRelease(device));

        Console.WriteLine();
        Console.WriteLine("| step | result | detail |");
        Console.WriteLine("| --- | --- | --- |");
        foreach (var (step, ok, detail) in Results)
            Console.WriteLine($"| {step} | {(ok ? "OK" : "FAIL")} | {detail.Split('\n')[0]} |");
        int failed = Results.Count(r => !r.Ok);
        Console.WriteLine($"{Results.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static void Step(string name, Func<string> body)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            string detail = body();
            Results.Add((name, true, detail));
            Console.WriteLine($"[OK]   {name}: {detail} ({clock.ElapsedMilliseconds} ms)");
        }
        catch (Exception e)
        {
            string detail = $"{e.GetType().Name}: {e.Message}";
            Results.Add((name, false, detail));
            Console.WriteLine($"[FAIL] {name}: {detail}");
        }
    }

    private static void Try(Action action)
    {
        try { action(); }
        catch (Exception e) { Console.WriteLine($"  cleanup: {e.GetType().Name}: {e.Message}"); }
    }

    private static void RequireContext()
    {
        if (!haveContext)
            throw new InvalidOperationException("skipped: the driver step did not create a context");
    }

    private static string EntryPoints()
    {
        var parts = new List<string>();
        var missing = new List<string>();
        foreach (var lib in Enum.GetValues<NativeLib>())
        {
            if (!NativeLibraries.IsAvailable(lib))
            {
                missing.Add($"{lib}: library not found");
                continue;
            }
            var absent = NativeLibraries.MissingEntryPoints(lib);
            parts.Add($"{lib} {NativeLibraries.DeclaredEntryPoints(lib).Count - absent.Count}/{NativeLibraries.DeclaredEntryPoints(lib).Count}");
            if (absent.Count > 0)
                missing.Add($"{lib} lacks {string.Join(", ", absent)}");
        }
        if (NativeLibraries.IsAvailable(NativeLib.Cuda))
            parts.Add($"elapsed time via {CudaDriver.EventElapsedTimeEntryPoint}");
        if (missing.Count > 0)
            throw new EntryPointNotFoundException(string.Join("; ", missing));
        return "exported: " + string.Join(", ", parts);
    }

    private static string Driver()
    {
        int version = CudaDriver.DriverGetVersion();
        CudaDriver.Init();
        int count = CudaDriver.DeviceGetCount();
        if (device >= count)
            throw new InvalidOperationException($"device {device} requested but the driver sees {count}");
        int dev = CudaDriver.DeviceGet(device);
        // A context of our own (cuCtxCreate_v2, still exported by CUDA 13 drivers), then the primary one.
        var own = CudaDriver.CtxCreate(0, dev);
        CudaDriver.CtxDestroy(own);
        var ctx = CudaDriver.DevicePrimaryCtxRetain(dev);
        CudaDriver.CtxSetCurrent(ctx);
        haveContext = true;
        if (CudaDriver.CtxGetCurrent() != ctx)
            throw new InvalidOperationException("the primary context is not current after cuCtxSetCurrent");
        var (major, minor) = CudaDriver.DeviceComputeCapability(dev);
        int sms = CudaDriver.DeviceGetAttribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
        int smemOptin = CudaDriver.DeviceGetAttribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev);
        ulong total = CudaDriver.DeviceTotalMem(dev);
        var (free, totalCtx) = CudaDriver.MemGetInfo();
        string note = totalCtx == total ? "" : $" (cuMemGetInfo total {Gib(totalCtx)} GiB)";
        if (major < 3 || sms <= 0 || free == 0 || free > totalCtx)
            throw new InvalidOperationException($"implausible device properties: cc {major}.{minor}, {sms} SMs, free {free} of {total}");
        return $"driver CUDA {NativeLibraries.FormatCudaVersion(version)}, {count} device(s); #{device} {CudaDriver.DeviceGetName(dev)}, " +
               $"cc {major}.{minor}, {sms} SMs, smem/block optin {smemOptin / 1024} KiB, memory {Gib(free)} free of {Gib(total)} GiB{note}";
    }

    private static string NvrtcVersion()
    {
        var archs = Nvrtc.GetSupportedArchs();
        return $"NVRTC {Nvrtc.GetVersion()}, archs {string.Join(",", archs)}";
    }

    private static string SaxpyKernel()
    {
        RequireContext();
        var (major, minor) = CudaDriver.DeviceComputeCapability(CudaDriver.DeviceGet(device));
        int sm = major * 10 + minor;
        var archs = Nvrtc.GetSupportedArchs();
        // A CUBIN for the device's own architecture when NVRTC knows it; else PTX for the newest it knows.
        string arch = archs.Contains(sm) ? $"sm_{sm}" : $"compute_{archs.Where(a => a <= sm).Max()}";
        var output = Nvrtc.Compile(SaxpySource, "saxpy.cu", [$"-arch={arch}"]);
        saxpyModule = CudaDriver.ModuleLoadDataWithLog(output.Image);
        saxpy = CudaDriver.ModuleGetFunction(saxpyModule, "saxpy");

        const int n = 1 << 20;
        var x = new float[n];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (i % 1000) * 0.001f;
            y[i] = 1f - (i % 777) * 0.0005f;
        }
        const float a = 2.5f;
        ulong dx = CudaDriver.MemAlloc(n * sizeof(float));
        ulong dy = CudaDriver.MemAlloc(n * sizeof(float));
        try
        {
            CudaDriver.MemcpyHtoD<float>(dx, x);
            CudaDriver.MemcpyHtoD<float>(dy, y);
            LaunchSaxpy(a, dx, dy, n, default);
            CudaDriver.CtxSynchronize();
            var result = new float[n];
            CudaDriver.MemcpyDtoH<float>(result, dy);
            double maxErr = 0;
            for (int i = 0; i < n; i++)
                maxErr = Math.Max(maxErr, Math.Abs(result[i] - (a * x[i] + y[i])));
            if (maxErr > 1e-5)
                throw new InvalidOperationException($"max |error| {maxErr:g3} over {n} elements");
            return $"{output.Kind} for {arch} ({output.Image.Length} bytes), {n} floats, max |error| {maxErr:g3}";
        }
        finally
        {
            CudaDriver.MemFree(dx);
            CudaDriver.MemFree(dy);
        }
    }

    private static void LaunchSaxpy(float a, ulong x, ulong y, uint n, CUstream stream)
    {
        void** args = stackalloc void*[4];
        args[0] = &a;
        args[1] = &x;
        args[2] = &y;
        args[3] = &n;
        CudaDriver.LaunchKernel(saxpy, ((n + 255) / 256, 1, 1), (256, 1, 1), 0, stream, args);
    }

    private static string GraphAndEvents()
    {
        RequireContext();
        if (saxpy.IsNull)
            throw new InvalidOperationException("skipped: the saxpy kernel did not load");
        const int n = 1 << 20, replays = 10;
        const float a = 0.5f;
        var x = new float[n];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (i % 64) * 0.25f;
            y[i] = i % 3;
        }
        var stream = CudaDriver.StreamCreate();
        var start = CudaDriver.EventCreate();
        var stop = CudaDriver.EventCreate();
        ulong dx = CudaDriver.MemAlloc(n * sizeof(float));
        ulong dy = CudaDriver.MemAlloc(n * sizeof(float));
        try
        {
            fixed (float* px = x, py = y)
            {
                CudaDriver.MemcpyHtoDAsync(dx, px, n * sizeof(float), stream);
                CudaDriver.MemcpyHtoDAsync(dy, py, n * sizeof(float), stream);
                CudaDriver.StreamSynchronize(stream);
            }
            CudaDriver.StreamBeginCapture(stream);
            LaunchSaxpy(a, dx, dy, n, stream);
            var graph = CudaDriver.StreamEndCapture(stream);
            var exec = CudaDriver.GraphInstantiate(graph);
            CudaDriver.EventRecord(start, stream);
            for (int r = 0; r < replays; r++)
                CudaDriver.GraphLaunch(exec, stream);
            CudaDriver.EventRecord(stop, stream);
            CudaDriver.EventSynchronize(stop);
            if (!CudaDriver.EventQuery(stop) || !CudaDriver.StreamQuery(stream))
                throw new InvalidOperationException("event or stream still pending after synchronize");
            float ms = CudaDriver.EventElapsedTime(start, stop);
            CudaDriver.GraphExecDestroy(exec);
            CudaDriver.GraphDestroy(graph);

            var result = new float[n];
            fixed (float* pr = result)
                CudaDriver.MemcpyDtoHAsync(pr, dy, n * sizeof(float), stream);
            CudaDriver.StreamSynchronize(stream);
            double maxErr = 0;
            for (int i = 0; i < n; i++)
                maxErr = Math.Max(maxErr, Math.Abs(result[i] - (y[i] + replays * a * x[i])));
            if (maxErr > 1e-4)
                throw new InvalidOperationException($"after {replays} graph replays max |error| {maxErr:g3}");
            if (!(ms > 0))
                throw new InvalidOperationException($"elapsed time {ms} ms");
            return $"{replays} graph replays in {ms:F3} ms via {CudaDriver.EventElapsedTimeEntryPoint}, max |error| {maxErr:g3}";
        }
        finally
        {
            CudaDriver.MemFree(dx);
            CudaDriver.MemFree(dy);
            CudaDriver.EventDestroy(start);
            CudaDriver.EventDestroy(stop);
            CudaDriver.StreamDestroy(stream);
        }
    }

    private static string CublasSgemm()
    {
        RequireContext();
        const int m = 256, n = 256, k = 256;
        var rng = new Random(1);
        var a = RandomArray(rng, m * k);
        var b = RandomArray(rng, k * n);
        ulong da = CudaDriver.MemAlloc(m * k * sizeof(float));
        ulong db = CudaDriver.MemAlloc(k * n * sizeof(float));
        ulong dc = CudaDriver.MemAlloc(m * n * sizeof(float));
        var handle = Cublas.Create();
        try
        {
            int version = Cublas.GetVersion(handle);
            CudaDriver.MemcpyHtoD<float>(da, a);
            CudaDriver.MemcpyHtoD<float>(db, b);
            CudaDriver.MemsetD32(dc, 0, m * n);
            // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: swap the operands, keep OP_N.
            Cublas.Sgemm(handle, cublasOperation_t.CUBLAS_OP_N, cublasOperation_t.CUBLAS_OP_N, n, m, k,
                1f, db, n, da, k, 0f, dc, n);
            CudaDriver.CtxSynchronize();
            var c = new float[m * n];
            CudaDriver.MemcpyDtoH<float>(c, dc);
            double maxErr = MaxError(c, CpuMatmul(a, b, m, n, k, null));
            if (maxErr > 1e-3)
                throw new InvalidOperationException($"max |error| {maxErr:g3} against the CPU");
            return $"cublasGetVersion {version}, {m}x{n}x{k} max |error| {maxErr:g3}";
        }
        finally
        {
            Cublas.Destroy(handle);
            CudaDriver.MemFree(da);
            CudaDriver.MemFree(db);
            CudaDriver.MemFree(dc);
        }
    }

    private static string CublasLtBias()
    {
        RequireContext();
        // Row-major Y (m×n) = X (m×k) · W (k×n) + bias[n], through column-major Yᵀ = Wᵀ·Xᵀ + bias per row.
        const int m = 64, n = 48, k = 32;
        const ulong workspaceBytes = 4 << 20;
        var rng = new Random(2);
        var x = RandomArray(rng, m * k);
        var w = RandomArray(rng, k * n);
        var bias = RandomArray(rng, n);
        ulong dx = CudaDriver.MemAlloc(m * k * sizeof(float));
        ulong dw = CudaDriver.MemAlloc(k * n * sizeof(float));
        ulong dbias = CudaDriver.MemAlloc(n * sizeof(float));
        ulong dy = CudaDriver.MemAlloc(m * n * sizeof(float));
        ulong workspace = CudaDriver.MemAlloc(workspaceBytes);
        var handle = CublasLt.Create();
        var desc = CublasLt.MatmulDescCreate(cublasComputeType_t.CUBLAS_COMPUTE_32F, cudaDataType_t.CUDA_R_32F);
        var layoutW = CublasLt.MatrixLayoutCreate(cudaDataType_t.CUDA_R_32F, n, k, n);
        var layoutX = CublasLt.MatrixLayoutCreate(cudaDataType_t.CUDA_R_32F, k, m, k);
        var layoutY = CublasLt.MatrixLayoutCreate(cudaDataType_t.CUDA_R_32F, n, m, n);
        var pref = CublasLt.MatmulPreferenceCreate();
        try
        {
            CudaDriver.MemcpyHtoD<float>(dx, x);
            CudaDriver.MemcpyHtoD<float>(dw, w);
            CudaDriver.MemcpyHtoD<float>(dbias, bias);
            CublasLt.MatmulDescSetTranspose(desc, cublasOperation_t.CUBLAS_OP_N, cublasOperation_t.CUBLAS_OP_N);
            CublasLt.MatmulDescSetEpilogue(desc, cublasLtEpilogue_t.CUBLASLT_EPILOGUE_BIAS, dbias);
            CublasLt.MatmulPreferenceSetMaxWorkspace(pref, workspaceBytes);
            var heuristics = CublasLt.MatmulAlgoGetHeuristic(handle, desc, layoutW, layoutX, layoutY, layoutY, pref, 4);
            if (heuristics.Length == 0)
                throw new InvalidOperationException("cublasLtMatmulAlgoGetHeuristic returned no algorithm");
            var best = heuristics[0];
            if (best.State != cublasStatus_t.CUBLAS_STATUS_SUCCESS || best.WorkspaceSize > workspaceBytes || !(best.WavesCount > 0))
                throw new InvalidOperationException(
                    $"implausible heuristic result (struct layout?): state {best.State}, workspace {best.WorkspaceSize}, waves {best.WavesCount}");
            float alpha = 1f, beta = 0f;
            CublasLt.Matmul(handle, desc, &alpha, dw, layoutW, dx, layoutX, &beta, dy, layoutY, dy, layoutY,
                &best.Algo, workspace, workspaceBytes, default);
            CudaDriver.CtxSynchronize();
            var y = new float[m * n];
            CudaDriver.MemcpyDtoH<float>(y, dy);
            double maxErr = MaxError(y, CpuMatmul(x, w, m, n, k, bias));
            if (maxErr > 1e-3)
                throw new InvalidOperationException($"max |error| {maxErr:g3} against the CPU");
            return $"{heuristics.Length} algorithm(s), best: workspace {best.WorkspaceSize} B, waves {best.WavesCount:F2}; " +
                   $"{m}x{n}x{k}+bias max |error| {maxErr:g3}";
        }
        finally
        {
            CublasLt.MatmulPreferenceDestroy(pref);
            CublasLt.MatrixLayoutDestroy(layoutW);
            CublasLt.MatrixLayoutDestroy(layoutX);
            CublasLt.MatrixLayoutDestroy(layoutY);
            CublasLt.MatmulDescDestroy(desc);
            CublasLt.Destroy(handle);
            foreach (var p in new[] { dx, dw, dbias, dy, workspace })
                CudaDriver.MemFree(p);
        }
    }

    private static string NcclOneRank()
    {
        RequireContext();
        const int n = 1 << 20;
        var id = Nccl.GetUniqueId();
        var bytes = id.ToBytes();
        var comm = Nccl.CommInitRank(1, ncclUniqueId.FromBytes(bytes), 0); // through the bytes, as ranks receive it
        var stream = CudaDriver.StreamCreate();
        ulong send = CudaDriver.MemAlloc(n * sizeof(float));
        ulong recv = CudaDriver.MemAlloc(n * sizeof(float));
        try
        {
            if (Nccl.CommCount(comm) != 1 || Nccl.CommUserRank(comm) != 0 || Nccl.CommCuDevice(comm) != device)
                throw new InvalidOperationException("communicator reports the wrong size, rank or device");
            var data = new float[n];
            for (int i = 0; i < n; i++)
                data[i] = i % 17 - 8;
            CudaDriver.MemcpyHtoD<float>(send, data);
            CudaDriver.MemsetD32(recv, 0, n);
            Nccl.AllReduce(send, recv, n, ncclDataType_t.ncclFloat32, ncclRedOp_t.ncclSum, comm, stream);
            CudaDriver.StreamSynchronize(stream);
            var result = new float[n];
            CudaDriver.MemcpyDtoH<float>(result, recv);
            int wrong = 0;
            for (int i = 0; i < n; i++)
                if (result[i] != data[i])
                    wrong++;
            CudaDriver.MemsetD32(recv, 0, n);
            Nccl.GroupStart();
            Nccl.Broadcast(send, recv, n, ncclDataType_t.ncclFloat32, 0, comm, stream);
            Nccl.GroupEnd();
            CudaDriver.StreamSynchronize(stream);
            CudaDriver.MemcpyDtoH<float>(result, recv);
            for (int i = 0; i < n; i++)
                if (result[i] != data[i])
                    wrong++;
            var asyncError = Nccl.CommGetAsyncError(comm);
            if (wrong > 0 || asyncError != ncclResult_t.ncclSuccess)
                throw new InvalidOperationException($"{wrong} wrong elements, async error {asyncError}");
            return $"1-rank all-reduce and broadcast of {n} floats exact, async error {asyncError}";
        }
        finally
        {
            CudaDriver.MemFree(send);
            CudaDriver.MemFree(recv);
            CudaDriver.StreamDestroy(stream);
            Nccl.CommDestroy(comm);
        }
    }

    private static float[] RandomArray(Random rng, int count)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++)
            a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    // Row-major (m×k)·(k×n) in double, plus an optional bias per output column.
    private static double[] CpuMatmul(float[] a, float[] b, int m, int n, int k, float[]? bias)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = bias?[j] ?? 0;
                for (int p = 0; p < k; p++)
                    s += (double)a[i * k + p] * b[p * n + j];
                c[i * n + j] = s;
            }
        return c;
    }

    private static double MaxError(float[] actual, double[] expected)
    {
        double max = 0;
        for (int i = 0; i < actual.Length; i++)
            max = Math.Max(max, Math.Abs(actual[i] - expected[i]));
        return max;
    }

    private static string Gib(ulong bytes) => (bytes / (1024.0 * 1024 * 1024)).ToString("F1");
}
