namespace YoloCore.Distributed;

/// Who this process is in a data-parallel job, read from the variables torchrun sets (RANK,
/// LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): `yolocore launch`, torchrun or a SLURM script
/// all work. Absent variables mean a single process.
public sealed record DistributedEnv(int Rank, int LocalRank, int WorldSize, string MasterAddr, int MasterPort, bool Launched = true)
{
    public static readonly DistributedEnv Single = new(0, 0, 1, "127.0.0.1", 29500, Launched: false);

    /// Started by a launcher (WORLD_SIZE set), even with one rank: the whole data-parallel path
    /// runs then (store, communicator, reducer), which is how its overhead is measured.
    public bool IsDistributed => Launched;
    public bool IsMain => Rank == 0;

    public static DistributedEnv FromEnvironment() => Parse(Environment.GetEnvironmentVariable);

    /// Each rank's share of a batch given as the total over all ranks.
    public int RankBatch(int totalBatch) => totalBatch % WorldSize == 0 ? totalBatch / WorldSize
        : throw new ArgumentException($"--batch-size {totalBatch} must be a multiple of WORLD_SIZE {WorldSize} (it is the total over all ranks)");

    /// The device this rank computes on: the CPU stays the CPU; a GPU request becomes one GPU per
    /// local rank, shared round-robin when there are more ranks than GPUs.
    public Device DeviceFor(Device requested) =>
        requested.IsCpu || !IsDistributed ? requested : Device.Cuda(LocalRank % Math.Max(1, GpuCount()));

    /// Reads and checks the variables; every mistake is named in the message.
    public static DistributedEnv Parse(Func<string, string?> get)
    {
        string? world = get("WORLD_SIZE");
        if (string.IsNullOrEmpty(world)) return Single;
        int Int(string name, string? value)
        {
            if (!int.TryParse(value, out int v)) throw new ArgumentException($"environment variable {name} must be an integer, got '{value ?? "(unset)"}'");
            return v;
        }
        int w = Int("WORLD_SIZE", world), rank = Int("RANK", get("RANK")), local = Int("LOCAL_RANK", get("LOCAL_RANK") ?? get("RANK"));
        int port = Int("MASTER_PORT", get("MASTER_PORT") ?? "29500");
        string addr = get("MASTER_ADDR") ?? "127.0.0.1";
        if (w < 1) throw new ArgumentException($"WORLD_SIZE must be at least 1, got {w}");
        if (rank < 0 || rank >= w) throw new ArgumentException($"RANK {rank} is outside [0, WORLD_SIZE={w})");
        if (port is < 1 or > 65535) throw new ArgumentException($"MASTER_PORT {port} is not a TCP port");
        return new DistributedEnv(rank, local, w, addr, port);
    }

    /// GPUs the driver sees (0 without one).
    static int GpuCount()
    {
        try
        {
            YoloCore.Native.CudaDriver.Init();
            return YoloCore.Native.CudaDriver.DeviceGetCount();
        }
        catch (Exception e) when (e is DllNotFoundException or YoloCore.Native.NativeCallException) { return 0; }
    }
}
