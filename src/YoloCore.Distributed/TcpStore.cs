using System.Net;
using System.Net.Sockets;
using System.Text;

namespace YoloCore.Distributed;

/// The rendezvous store, like torch.distributed's TCPStore: rank 0 serves a key-value map over TCP
/// and every rank (rank 0 too) is a client. Get waits until the key is set; Add is an atomic
/// counter; Barrier waits until every rank has arrived. Every wait has a timeout whose message says
/// what was awaited, so a missing rank is reported instead of hanging.
public sealed class TcpStore : IDisposable
{
    enum Op : byte { Set = 1, Get = 2, Add = 3, Arrive = 4 }
    /// The first bytes each side sends: a client that hears anything else has reached another
    /// program that happens to listen on MASTER_PORT.
    static readonly byte[] hello = "yolocore-store/1"u8.ToArray();
    enum Status : byte { Ok = 0, Timeout = 1, Closed = 2 }

    readonly TcpListener? listener;
    readonly Dictionary<string, byte[]> values = [];
    readonly List<Task> serving = [];
    readonly CancellationTokenSource stop = new();
    readonly TcpClient client;
    readonly NetworkStream stream;
    readonly object clientGate = new();
    int handling; // requests read whose reply is not written yet

    public TimeSpan Timeout { get; }

    /// isServer: rank 0 listens on port; every rank connects (retrying until the timeout, since the
    /// server may start later).
    public TcpStore(string host, int port, bool isServer, TimeSpan timeout)
    {
        Timeout = timeout;
        if (isServer)
        {
            listener = new TcpListener(IPAddress.Any, port);
            try { listener.Start(); }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new IOException($"rendezvous: port {port} is already in use on this machine (another job?); choose another --master-port", e);
            }
            _ = AcceptLoop();
        }
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                client = new TcpClient { NoDelay = true };
                client.Connect(host, port);
                break;
            }
            catch (SocketException e)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"rendezvous: cannot reach the master at {host}:{port} within {timeout.TotalSeconds:F0} s ({e.SocketErrorCode}); is rank 0 running and MASTER_ADDR/MASTER_PORT right?", e);
                Thread.Sleep(100);
            }
        }
        stream = client.GetStream();
        Greet(host, port, TimeSpan.FromSeconds(Math.Min(10, timeout.TotalSeconds)));
    }

    void Greet(string host, int port, TimeSpan within)
    {
        byte[]? reply = null;
        try
        {
            client.ReceiveTimeout = (int)within.TotalMilliseconds;
            stream.Write(hello);
            reply = ReadExactly(stream, hello.Length);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException) { }
        if (reply is null || !reply.AsSpan().SequenceEqual(hello))
        {
            client.Dispose();
            throw new IOException($"rendezvous: the program listening on {host}:{port} is not yolocore's store " +
                $"(it {(reply is null ? $"did not answer within {within.TotalSeconds:F0} s" : "answered something else")}); " +
                "another program holds MASTER_PORT there: choose another --master-port");
        }
    }

    async Task AcceptLoop()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient c;
            try { c = await listener!.AcceptTcpClientAsync(stop.Token); }
            catch (Exception) { return; }
            c.NoDelay = true;
            lock (serving) serving.Add(Task.Run(() => Serve(c)));
        }
    }

    void Serve(TcpClient c)
    {
        using var _ = c;
        var s = c.GetStream();
        try
        {
            if (!ReadExactly(s, hello.Length).AsSpan().SequenceEqual(hello)) return;
            s.Write(hello);
            while (!stop.IsCancellationRequested)
            {
                var op = (Op)ReadExactly(s, 1)[0];
                Interlocked.Increment(ref handling);
                try
                {
                    string key = Encoding.UTF8.GetString(ReadBlock(s));
                    byte[] arg = ReadBlock(s);
                    var (status, reply) = Handle(op, key, arg);
                    s.WriteByte((byte)status);
                    WriteBlock(s, reply);
                }
                finally { Interlocked.Decrement(ref handling); }
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException) { }
    }

    (Status, byte[]) Handle(Op op, string key, byte[] arg)
    {
        var deadline = DateTime.UtcNow + Timeout;
        lock (values)
        {
            switch (op)
            {
                case Op.Set:
                    values[key] = arg;
                    Monitor.PulseAll(values);
                    return (Status.Ok, []);
                case Op.Add:
                    long v = (values.TryGetValue(key, out var old) ? BitConverter.ToInt64(old) : 0) + BitConverter.ToInt64(arg);
                    values[key] = BitConverter.GetBytes(v);
                    Monitor.PulseAll(values);
                    return (Status.Ok, values[key]);
                case Op.Get:
                    while (!values.ContainsKey(key))
                        if (!WaitUntil(deadline)) return (Ended, []);
                    return (Status.Ok, values[key]);
                default: // Arrive: count this rank in, then wait until the counter reaches arg
                    long target = BitConverter.ToInt64(arg);
                    long arrived = (values.TryGetValue(key, out var before) ? BitConverter.ToInt64(before) : 0) + 1;
                    values[key] = BitConverter.GetBytes(arrived);
                    Monitor.PulseAll(values);
                    while (!values.TryGetValue(key, out var cur) || BitConverter.ToInt64(cur) < target)
                        if (!WaitUntil(deadline)) return (Ended, values.TryGetValue(key, out var c) ? c : BitConverter.GetBytes(0L));
                    return (Status.Ok, values[key]);
            }
        }
    }

    /// Why a wait ended without its value: the timeout, or rank 0 closing the store.
    Status Ended => stop.IsCancellationRequested ? Status.Closed : Status.Timeout;

    bool WaitUntil(DateTime deadline)
    {
        if (stop.IsCancellationRequested) return false;
        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero && Monitor.Wait(values, left) || DateTime.UtcNow < deadline;
    }

    (Status, byte[]) Call(Op op, string key, byte[] arg)
    {
        Status status;
        byte[] reply;
        lock (clientGate)
        {
            client.ReceiveTimeout = (int)Math.Min(int.MaxValue, Timeout.TotalMilliseconds + 30_000);
            try
            {
                stream.WriteByte((byte)op);
                WriteBlock(stream, Encoding.UTF8.GetBytes(key));
                WriteBlock(stream, arg);
                status = (Status)ReadExactly(stream, 1)[0];
                reply = ReadBlock(stream);
            }
            catch (Exception e) when (e is IOException or EndOfStreamException)
            {
                throw new IOException($"rendezvous: lost the connection to the store on rank 0 ({e.Message}); rank 0 has probably ended", e);
            }
        }
        if (status == Status.Closed) throw new IOException($"rendezvous: rank 0 closed the store while this rank waited for '{key}'; rank 0 has ended");
        return (status, reply);
    }

    public void Set(string key, byte[] value) => Call(Op.Set, key, value);

    public byte[] Get(string key)
    {
        var (status, value) = Call(Op.Get, key, []);
        if (status == Status.Timeout) throw new TimeoutException($"rendezvous: '{key}' was not set within {Timeout.TotalSeconds:F0} s");
        return value;
    }

    public long Add(string key, long delta) => BitConverter.ToInt64(Call(Op.Add, key, BitConverter.GetBytes(delta)).Item2);

    /// Waits until `count` participants have arrived at this barrier name. Arriving and waiting
    /// are one request, so when any rank leaves, every rank's reply is already being written.
    public void Barrier(string name, int count)
    {
        var (status, value) = Call(Op.Arrive, name, BitConverter.GetBytes((long)count));
        if (status == Status.Timeout)
            throw new TimeoutException($"barrier '{name}': only {BitConverter.ToInt64(value)} of {count} ranks arrived within {Timeout.TotalSeconds:F0} s");
    }

    internal static byte[] ReadExactly(Stream s, int n)
    {
        var buffer = new byte[n];
        s.ReadExactly(buffer);
        return buffer;
    }

    static byte[] ReadBlock(Stream s) => ReadExactly(s, BitConverter.ToInt32(ReadExactly(s, 4)));

    static void WriteBlock(Stream s, byte[] data)
    {
        s.Write(BitConverter.GetBytes(data.Length));
        s.Write(data);
    }

    /// Rank 0 stops taking requests, wakes the ones still waiting (they answer "timeout"), and
    /// lets the replies being written reach their ranks (at most 5 s) before it closes.
    public void Dispose()
    {
        stop.Cancel();
        client.Dispose();
        if (listener is null) return;
        listener.Stop();
        lock (values) Monitor.PulseAll(values);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (Volatile.Read(ref handling) > 0 && DateTime.UtcNow < deadline) Thread.Sleep(5);
    }
}
