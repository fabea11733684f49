using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace YoloCore.Distributed;

/// Collectives over TCP for CPU training and for tests: a star through rank 0, which receives every
/// rank's tensor, adds them in rank order (so the sum is the same on every run) and sends the
/// result back. Tensors travel as raw float32/float64 bytes through host memory. Collectives run
/// one at a time on a background thread in issue order, so backward can go on while a bucket is
/// summed. A peer that closes its connection or stays silent past the timeout fails the
/// collective with its rank in the message.
public sealed class TcpCommunicator : ICommunicator
{
    readonly TcpStore store;
    readonly TcpListener? listener;
    readonly Socket?[] peers;      // on rank 0: one socket per other rank
    readonly Socket? master;       // on other ranks: the socket to rank 0
    readonly BlockingCollection<(Action Work, TaskCompletionSource Done)> queue = new();
    readonly Thread worker;
    readonly TimeSpan timeout;
    Exception? failure;

    public TcpCommunicator(TcpStore store, int rank, int worldSize, string masterAddr, TimeSpan timeout)
    {
        this.store = store;
        this.timeout = timeout;
        Rank = rank;
        WorldSize = worldSize;
        peers = new Socket?[worldSize];
        if (rank == 0)
        {
            listener = new TcpListener(IPAddress.Any, 0);
            listener.Start();
            store.Set("comm/port", BitConverter.GetBytes(((IPEndPoint)listener.LocalEndpoint).Port));
            listener.Server.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            var deadline = DateTime.UtcNow + timeout;
            for (int n = 1; n < worldSize; n++)
            {
                var accept = listener.AcceptSocketAsync();
                if (!accept.Wait(deadline - DateTime.UtcNow))
                    throw new TimeoutException($"communicator: only {n} of {worldSize} ranks connected within {timeout.TotalSeconds:F0} s");
                var s = accept.Result;
                Configure(s);
                int peer = BitConverter.ToInt32(Receive(s, 4, "a connecting rank"));
                if (peer <= 0 || peer >= worldSize || peers[peer] is not null)
                    throw new IOException($"communicator: a peer claimed rank {peer}, which is not a free rank of WORLD_SIZE={worldSize} (do all ranks agree on WORLD_SIZE?)");
                peers[peer] = s;
            }
        }
        else
        {
            int port = BitConverter.ToInt32(store.Get("comm/port"));
            master = new Socket(SocketType.Stream, ProtocolType.Tcp);
            master.Connect(masterAddr, port);
            Configure(master);
            master.Send(BitConverter.GetBytes(rank));
        }
        worker = new Thread(Work) { IsBackground = true, Name = $"communicator rank {rank}" };
        worker.Start();
    }

    public int Rank { get; }
    public int WorldSize { get; }

    void Configure(Socket s)
    {
        s.NoDelay = true;
        s.ReceiveTimeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
        s.SendTimeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
    }

    void Work()
    {
        foreach (var (work, done) in queue.GetConsumingEnumerable())
        {
            if (failure is not null) { done.SetException(failure); continue; }
            try { work(); done.SetResult(); }
            catch (Exception e)
            {
                failure = e;
                done.SetException(e);
            }
        }
    }

    Task Enqueue(Action work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Add((work, done));
        return done.Task;
    }

    static void Wait(Task t)
    {
        try { t.GetAwaiter().GetResult(); }
        catch (AggregateException e) when (e.InnerException is not null) { throw e.InnerException; }
    }

    byte[] Receive(Socket s, int bytes, string who)
    {
        var buffer = new byte[bytes];
        int got = 0;
        try
        {
            while (got < bytes)
            {
                int n = s.Receive(buffer, got, bytes - got, SocketFlags.None);
                if (n == 0) throw new IOException($"communicator: {who} closed its connection (it has probably died)");
                got += n;
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            throw new TimeoutException($"communicator: {who} sent nothing for {timeout.TotalSeconds:F0} s (hung or dead)", e);
        }
        catch (SocketException e)
        {
            throw new IOException($"communicator: the connection to {who} failed ({e.SocketErrorCode}); it has probably died", e);
        }
        return buffer;
    }

    void Send(Socket s, byte[] data, string who)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try { s.Send(data); }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut && clock.Elapsed >= timeout * 0.9)
        {
            throw new TimeoutException($"communicator: {who} took nothing for {timeout.TotalSeconds:F0} s (hung or dead)", e);
        }
        // A socket can report TimedOut long before the timeout when the peer's end has gone: say what happened.
        catch (SocketException e)
        {
            throw new IOException($"communicator: cannot send to {who}: the connection broke after {clock.Elapsed.TotalSeconds:F2} s " +
                $"({e.SocketErrorCode}); {who} has probably ended", e);
        }
    }

    public Task AllReduceSumAsync(Tensor tensor) => AllReduce(tensor, 1);

    /// Rank 0 divides while it turns the double sum back into the tensor's type: no extra pass.
    public Task AllReduceMeanAsync(Tensor tensor) => AllReduce(tensor, 1.0 / WorldSize);

    Task AllReduce(Tensor tensor, double scale)
    {
        if (WorldSize == 1) return Task.CompletedTask;
        return Enqueue(() =>
        {
            var bytes = new byte[tensor.Bytes];
            tensor.CopyTo(bytes);
            if (Rank == 0)
            {
                var sum = ToDoubles(bytes, tensor.DType);
                for (int r = 1; r < WorldSize; r++)
                {
                    var part = ToDoubles(Receive(peers[r]!, bytes.Length, $"rank {r}"), tensor.DType);
                    for (int i = 0; i < sum.Length; i++) sum[i] += part[i];
                }
                if (scale != 1) for (int i = 0; i < sum.Length; i++) sum[i] *= scale;
                bytes = FromDoubles(sum, tensor.DType);
                for (int r = 1; r < WorldSize; r++) Send(peers[r]!, bytes, $"rank {r}");
            }
            else
            {
                Send(master!, bytes, "rank 0");
                bytes = Receive(master!, bytes.Length, "rank 0");
            }
            tensor.CopyFrom(bytes);
        });
    }

    public void AllReduceSum(Tensor tensor) => Wait(AllReduceSumAsync(tensor));

    public void Broadcast(Tensor tensor, int root = 0)
    {
        if (root != 0) throw new NotSupportedException("the TCP communicator broadcasts from rank 0");
        if (WorldSize == 1) return;
        Wait(Enqueue(() =>
        {
            var bytes = new byte[tensor.Bytes];
            if (Rank == 0)
            {
                tensor.CopyTo(bytes);
                for (int r = 1; r < WorldSize; r++) Send(peers[r]!, bytes, $"rank {r}");
            }
            else
            {
                bytes = Receive(master!, bytes.Length, "rank 0");
                tensor.CopyFrom(bytes);
            }
        }));
    }

    public void Barrier()
    {
        using var scope = TensorScope.Begin();
        AllReduceSum(Tensor.Zeros(new Shape(1)));
    }

    // Float32 sums are added in double and rounded once, in rank order.
    static double[] ToDoubles(byte[] bytes, DType dtype) => dtype switch
    {
        DType.Float32 => Array.ConvertAll(MemoryMarshal.Cast<byte, float>(bytes).ToArray(), v => (double)v),
        DType.Float64 => MemoryMarshal.Cast<byte, double>(bytes).ToArray(),
        DType.Int32 => Array.ConvertAll(MemoryMarshal.Cast<byte, int>(bytes).ToArray(), v => (double)v),
        _ => throw new NotSupportedException($"the TCP communicator sums float32, float64 and int32 tensors, not {dtype.Name()}"),
    };

    static byte[] FromDoubles(double[] v, DType dtype) => dtype switch
    {
        DType.Float32 => MemoryMarshal.AsBytes(Array.ConvertAll(v, x => (float)x).AsSpan()).ToArray(),
        DType.Float64 => MemoryMarshal.AsBytes(v.AsSpan()).ToArray(),
        _ => MemoryMarshal.AsBytes(Array.ConvertAll(v, x => (int)x).AsSpan()).ToArray(),
    };

    public void Dispose()
    {
        queue.CompleteAdding();
        worker.Join(TimeSpan.FromSeconds(5));
        foreach (var s in peers) s?.Dispose();
        master?.Dispose();
        listener?.Stop();
    }
}
