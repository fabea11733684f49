using System.Text;

namespace YoloCore.Distributed;

/// The ranks of one job, joined: the rendezvous store (served by rank 0) and a communicator, NCCL
/// for GPUs (its unique id travels through the store) or TCP for CPUs. Joining checks that every
/// rank was started with the same WORLD_SIZE.
public sealed class ProcessGroup : IDisposable
{
    ProcessGroup(DistributedEnv env, TcpStore store, ICommunicator comm)
    {
        Env = env;
        Store = store;
        Comm = comm;
    }

    public DistributedEnv Env { get; }
    public TcpStore Store { get; }
    public ICommunicator Comm { get; }
    public int Rank => Env.Rank;
    public int WorldSize => Env.WorldSize;
    public bool IsMain => Env.IsMain;

    public static ProcessGroup Join(DistributedEnv env, Device device, TimeSpan timeout)
    {
        var store = new TcpStore(env.MasterAddr, env.MasterPort, env.Rank == 0, timeout);
        try
        {
            if (env.Rank == 0) store.Set("world_size", BitConverter.GetBytes(env.WorldSize));
            int expected = BitConverter.ToInt32(store.Get("world_size"));
            if (expected != env.WorldSize)
                throw new ArgumentException($"rank {env.Rank} was started with WORLD_SIZE={env.WorldSize} but rank 0 with WORLD_SIZE={expected}");
            if (store.Add($"rank/{env.Rank}", 1) != 1)
                throw new ArgumentException($"two processes claim RANK={env.Rank}");
            store.Barrier("joined", env.WorldSize);
            ICommunicator comm;
            if (device.IsCpu) comm = new TcpCommunicator(store, env.Rank, env.WorldSize, env.MasterAddr, timeout);
            else
            {
                if (env.Rank == 0) store.Set("nccl/id", NcclCommunicator.NewUniqueId());
                comm = new NcclCommunicator(env.Rank, env.WorldSize, store.Get("nccl/id"), device, timeout);
            }
            return new ProcessGroup(env, store, comm);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// Rank 0 shares a string with every rank (paths chosen on rank 0).
    public string Share(string key, string? value)
    {
        if (IsMain) Store.Set(key, Encoding.UTF8.GetBytes(value ?? ""));
        return Encoding.UTF8.GetString(Store.Get(key));
    }

    public void Dispose()
    {
        Comm.Dispose();
        Store.Dispose();
    }
}
