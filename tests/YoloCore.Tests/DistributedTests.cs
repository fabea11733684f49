using System.Net;
using System.Net.Sockets;
using YoloCore.Distributed;

namespace YoloCore.Tests;

public class DistributedTests
{
    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// Runs body(rank, communicator) on `world` threads joined by a real TCP store and communicator.
    static T[] RunRanks<T>(int world, Func<int, ICommunicator, T> body, double timeoutSeconds = 20)
    {
        int port = FreePort();
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(r => new Thread(() =>
        {
            try
            {
                using var store = new TcpStore("127.0.0.1", port, r == 0, TimeSpan.FromSeconds(timeoutSeconds));
                using var comm = new TcpCommunicator(store, r, world, "127.0.0.1", TimeSpan.FromSeconds(timeoutSeconds));
                results[r] = body(r, comm);
                store.Barrier("done", world);
            }
            catch (Exception e) { errors[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var e in errors) if (e is not null) throw new AggregateException(e);
        return results;
    }

    [Fact]
    public void EnvironmentVariablesAreReadAndChecked()
    {
        var vars = new Dictionary<string, string> { ["WORLD_SIZE"] = "4", ["RANK"] = "2", ["LOCAL_RANK"] = "0", ["MASTER_ADDR"] = "10.0.0.1", ["MASTER_PORT"] = "29555" };
        var env = DistributedEnv.Parse(k => vars.GetValueOrDefault(k));
        Assert.Equal(new DistributedEnv(2, 0, 4, "10.0.0.1", 29555), env);
        Assert.False(DistributedEnv.Parse(_ => null).IsDistributed);
        vars["RANK"] = "4";
        Assert.Contains("RANK 4", Assert.Throws<ArgumentException>(() => DistributedEnv.Parse(k => vars.GetValueOrDefault(k))).Message);
        vars["RANK"] = "x";
        Assert.Contains("RANK", Assert.Throws<ArgumentException>(() => DistributedEnv.Parse(k => vars.GetValueOrDefault(k))).Message);
    }

    [Fact]
    public void BucketsFillInReverseOrderWithASmallFirstBucket()
    {
        // Sizes in bytes of parameters 0..5 in registration order.
        var buckets = BucketPlan.Assign([400, 100, 300, 200, 50, 60], bucketBytes: 450, firstBucketBytes: 100);
        Assert.Equal([[5, 4], [3, 2], [1, 0]], buckets);
        Assert.Equal(Enumerable.Range(0, 6), buckets.SelectMany(b => b).OrderBy(i => i));
        Assert.Single(BucketPlan.Assign([10, 10, 10], 1000, 1000));
    }

    [Fact]
    public void CollectivesSumAndBroadcastAcrossRanks()
    {
        var sums = RunRanks(3, (rank, comm) =>
        {
            using var scope = TensorScope.Begin();
            var t = Tensor.FromArray([rank + 1.0f, 10f * rank], 2);
            comm.AllReduceSum(t);
            var b = Tensor.FromArray([rank == 0 ? 7f : -1f], 1);
            comm.Broadcast(b);
            return t.ToArray<float>().Append(b.ToArray<float>()[0]).ToArray();
        });
        foreach (var s in sums) Assert.Equal([6f, 30f, 7f], s);
    }

    [Fact]
    public void TheReducerStartsBucketsDuringBackwardAndAveragesUnevenBuckets()
    {
        // A chain of four weights of uneven sizes; each rank feeds its own input.
        int[] sizes = [3, 1, 5, 2];
        double[][] Local(int rank)
        {
            using var scope = TensorScope.Begin();
            var ws = Weights(sizes);
            Loss(ws, rank).Backward();
            var g = ws.Select(w => w.Grad!.ToDoubles()).ToArray();
            foreach (var w in ws) { w.ZeroGrad(); w.Dispose(); }
            return g;
        }
        var expected = Enumerable.Range(0, sizes.Length).Select(i => Local(0)[i].Zip(Local(1)[i], (a, b) => (a + b) / 2).ToArray()).ToArray();

        var results = RunRanks(2, (rank, comm) =>
        {
            using var scope = TensorScope.Begin();
            var ws = Weights(sizes);
            // Buckets of about 8 bytes (two floats): uneven groups of the 11 values.
            using var reducer = new DataParallelReducer(ws, comm, bucketBytes: 8, firstBucketBytes: 4);
            reducer.BeginBackward(sync: true);
            Loss(ws, rank).Backward();
            var launches = reducer.Launches.ToList();
            reducer.WaitAndAverage();
            var g = ws.Select(w => w.Grad!.ToDoubles()).ToArray();
            foreach (var w in ws) { w.ZeroGrad(); w.Dispose(); }
            return (g, launches, reducer.Buckets.Count);
        });
        foreach (var (g, launches, buckets) in results)
        {
            for (int i = 0; i < sizes.Length; i++)
                Assert.Equal(expected[i], g[i].Select(v => Math.Round(v, 6)).ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
            // The first bucket (the last weight) started after the first hook, long before the last one.
            Assert.Equal(buckets, launches.Count);
            Assert.True(launches[0].HooksSeen < sizes.Length, $"the first bucket started after {launches[0].HooksSeen} of {sizes.Length} hooks");
        }
    }

    /// DDP's no_sync: in a window of four micro-batches only the last backward communicates, once
    /// per bucket, and the gradients are the ranks' average of their accumulated sums.
    [Fact]
    public void AnAccumulationWindowReducesOncePerBucketAndAveragesTheSums()
    {
        int[] sizes = [3, 1, 5, 2];
        double[][] Accumulated(int rank)
        {
            using var scope = TensorScope.Begin();
            var ws = Weights(sizes);
            for (int m = 0; m < 4; m++) Loss(ws, rank + 2 * m).Backward();
            var g = ws.Select(w => w.Grad!.ToDoubles()).ToArray();
            foreach (var w in ws) { w.ZeroGrad(); w.Dispose(); }
            return g;
        }
        var expected = Enumerable.Range(0, sizes.Length).Select(i => Accumulated(0)[i].Zip(Accumulated(1)[i], (a, b) => (a + b) / 2).ToArray()).ToArray();
        var results = RunRanks(2, (rank, comm) =>
        {
            using var scope = TensorScope.Begin();
            var ws = Weights(sizes);
            using var reducer = new DataParallelReducer(ws, comm, bucketBytes: 8, firstBucketBytes: 4);
            var reductions = new List<long>();
            for (int m = 0; m < 4; m++)
            {
                reducer.BeginBackward(sync: m == 3);
                Loss(ws, rank + 2 * m).Backward();
                if (m == 3) reducer.WaitAndAverage();
                reductions.Add(reducer.Reductions);
            }
            var g = ws.Select(w => w.Grad!.ToDoubles()).ToArray();
            foreach (var w in ws) { w.ZeroGrad(); w.Dispose(); }
            return (g, reductions, reducer.Buckets.Count);
        });
        foreach (var (g, reductions, buckets) in results)
        {
            Assert.Equal([0L, 0, 0, buckets], reductions); // nothing until the window closes, then one per bucket
            for (int i = 0; i < sizes.Length; i++)
                Assert.Equal(expected[i], g[i], (a, b) => Math.Abs(a - b) < 1e-5 * Math.Max(1, Math.Abs(a)));
        }
    }

    /// DDP's gradient_as_bucket_view: gradients are views into persistent bucket buffers, kept
    /// from one window to the next; the buckets are rebuilt once in the order gradients became
    /// ready; Dispose removes the hooks.
    [Fact]
    public void GradientsAreViewsIntoPersistentBucketsRebuiltInReadyOrder()
    {
        var results = RunRanks(2, (rank, comm) =>
        {
            using var scope = TensorScope.Begin();
            // Registered out of the order backward finishes them: ws[0] is used last in the
            // forward, so its gradient is ready first.
            var ws = Weights([2, 3, 4]);
            Tensor LossOf() { var h = (Tensor.FromArray([1f + rank, 2f], 2).Sum() * ws[1]).Silu(); h = (h.Sum() * ws[2]).Silu(); return (h.Sum() * ws[0]).Silu().Sum(); }
            using var reducer = new DataParallelReducer(ws, comm, bucketBytes: 4, firstBucketBytes: 4);
            var before = reducer.Buckets.Select(b => b.ToArray()).ToList();
            reducer.BeginBackward(sync: true);
            // Each gradient shares its bucket's memory: a write to the buffer shows in the gradient.
            var buffer = reducer.BucketBuffer(reducer.Buckets.Select((b, i) => (b, i)).First(x => x.b.Contains(1)).i)!;
            buffer.Backend.Fill(buffer, 5);
            bool view = ws[1].Grad!.ToArray<float>().All(v => v == 5);
            buffer.Backend.Fill(buffer, 0);
            LossOf().Backward();
            reducer.WaitAndAverage();
            var after = reducer.Buckets.Select(b => b.ToArray()).ToList();
            var firstBuffer = reducer.BucketBuffer(0);
            foreach (var w in ws) w.ZeroGrad();
            reducer.BeginBackward(sync: true);
            LossOf().Backward();
            reducer.WaitAndAverage();
            bool persistent = ReferenceEquals(firstBuffer, reducer.BucketBuffer(0));
            reducer.Dispose();
            foreach (var w in ws) w.ZeroGrad();
            LossOf().Backward(); // no hook may reach the disposed reducer
            foreach (var w in ws) { w.ZeroGrad(); w.Dispose(); }
            return (view, before, after, persistent);
        });
        foreach (var (view, before, after, persistent) in results)
        {
            Assert.True(view, "a gradient is not a view into its bucket");
            Assert.Equal([[2], [1], [0]], before);   // reverse registration order at first
            Assert.Equal([[0], [2], [1]], after);    // the order gradients became ready
            Assert.True(persistent, "the bucket buffers were not kept between steps");
        }
    }

    [Fact]
    public void SyncBatchNormOnTwoHalvesEqualsBatchNormOnTheWhole()
    {
        var rng = new Rng(8);
        var full = Enumerable.Range(0, 4 * 3 * 3 * 2).Select(_ => rng.Normal() * 2 + 1).ToArray();
        var weights = Enumerable.Range(0, full.Length).Select(_ => rng.Normal()).ToArray();
        (double[] Y, double[] Gx, double[] Gg, double[] Rm, double[] Rv) Run(double[] x, double[] r, int n, ICommunicator? comm)
        {
            using var scope = TensorScope.Begin();
            var xt = Tensor.FromDoubles(x, new Shape(n, 3, 3, 2), DType.Float64);
            xt.RequiresGrad = true;
            var g = Tensor.FromDoubles([1.5, 0.5], new Shape(2), DType.Float64);
            g.RequiresGrad = true;
            var b = Tensor.FromDoubles([0.1, -0.2], new Shape(2), DType.Float64);
            var rm = Tensor.FromDoubles([0.0, 0.0], new Shape(2), DType.Float64);
            var rv = Tensor.FromDoubles([1.0, 1.0], new Shape(2), DType.Float64);
            var y = comm is null ? xt.BatchNorm2d(g, b, rm, rv, true, 0.03, 1e-3) : xt.SyncBatchNorm2d(g, b, rm, rv, 0.03, 1e-3, comm);
            (y * Tensor.FromDoubles(r, y.Shape, DType.Float64)).Sum().Backward();
            var result = (y.ToDoubles(), xt.Grad!.ToDoubles(), g.Grad!.ToDoubles(), rm.ToDoubles(), rv.ToDoubles());
            xt.ZeroGrad();
            g.ZeroGrad();
            return result;
        }
        var whole = Run(full, weights, 4, null);
        int half = full.Length / 2;
        var parts = RunRanks(2, (rank, comm) => Run(full[(rank * half)..((rank + 1) * half)], weights[(rank * half)..((rank + 1) * half)], 2, comm));
        static void Close(double[] a, double[] b, string what) => Assert.True(GradientCheckTests.RelativeError(a, b) < 1e-12, what);
        Close(parts[0].Y.Concat(parts[1].Y).ToArray(), whole.Y, "outputs");
        Close(parts[0].Gx.Concat(parts[1].Gx).ToArray(), whole.Gx, "input gradients");
        Close(parts[0].Gg.Zip(parts[1].Gg, (a, b) => a + b).ToArray(), whole.Gg, "weight gradients (summed over ranks)");
        Close(parts[0].Rm, whole.Rm, "running mean");
        Close(parts[1].Rv, whole.Rv, "running variance");
    }

    [Fact]
    public void RendezvousMistakesAreNamed()
    {
        // A port another program holds.
        var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int taken = ((IPEndPoint)holder.LocalEndpoint).Port;
        try
        {
            var e = Assert.Throws<IOException>(() => new TcpStore("127.0.0.1", taken, true, TimeSpan.FromSeconds(2)));
            Assert.Contains($"port {taken} is already in use", e.Message);
        }
        finally { holder.Stop(); }

        // Rank 1 started with another WORLD_SIZE than rank 0; then two processes claiming rank 1.
        int port = FreePort();
        var timeout = TimeSpan.FromSeconds(3);
        Exception? mainError = null;
        var main = new Thread(() =>
        {
            try { using var g = ProcessGroup.Join(new DistributedEnv(0, 0, 3, "127.0.0.1", port), Device.Cpu, timeout); }
            catch (Exception e) { mainError = e; }
        });
        main.Start();
        var mismatch = Assert.Throws<ArgumentException>(() => ProcessGroup.Join(new DistributedEnv(1, 1, 2, "127.0.0.1", port), Device.Cpu, timeout));
        Assert.Contains("WORLD_SIZE=2 but rank 0 with WORLD_SIZE=3", mismatch.Message);
        var first = new Thread(() => { try { ProcessGroup.Join(new DistributedEnv(2, 2, 3, "127.0.0.1", port), Device.Cpu, timeout).Dispose(); } catch (Exception) { } }); // waits for rank 1 and gives up
        first.Start();
        Thread.Sleep(300);
        var twice = Assert.Throws<ArgumentException>(() => ProcessGroup.Join(new DistributedEnv(2, 2, 3, "127.0.0.1", port), Device.Cpu, timeout));
        Assert.Contains("two processes claim RANK=2", twice.Message);
        main.Join();
        first.Join();
        // Rank 0 waited for the missing rank 1 and says how many arrived.
        Assert.IsType<TimeoutException>(mainError);
        Assert.Contains("of 3 ranks arrived", mainError!.Message);
    }

    [Fact]
    public void AForeignProgramOnTheMasterPortIsNamedAsSuchNotAsADeadRankZero()
    {
        // One that answers something else (an HTTP server), one that answers nothing.
        foreach (var reply in new[] { "HTTP/1.1 400 Bad Request\r\n\r\n", null })
        {
            var foreign = new TcpListener(IPAddress.Loopback, 0);
            foreign.Start();
            int port = ((IPEndPoint)foreign.LocalEndpoint).Port;
            var serve = Task.Run(async () =>
            {
                using var c = await foreign.AcceptTcpClientAsync();
                if (reply is not null) await c.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(reply.PadRight(40)));
                await Task.Delay(3000);
            });
            try
            {
                var e = Assert.Throws<IOException>(() => new TcpStore("127.0.0.1", port, false, TimeSpan.FromSeconds(2)));
                Assert.Contains($"the program listening on 127.0.0.1:{port} is not yolocore's store", e.Message);
                Assert.Contains(reply is null ? "did not answer" : "answered something else", e.Message);
            }
            finally { foreign.Stop(); }
        }
    }

    [Fact]
    public void ADeadPeerEndsTheCollectiveWithItsRankInTheMessage()
    {
        int port = FreePort();
        Exception? seen = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var rank1 = new Thread(() =>
        {
            using var store = new TcpStore("127.0.0.1", port, false, TimeSpan.FromSeconds(10));
            var comm = new TcpCommunicator(store, 1, 2, "127.0.0.1", TimeSpan.FromSeconds(10));
            comm.Dispose(); // dies before the first collective
        });
        rank1.Start();
        using (var store = new TcpStore("127.0.0.1", port, true, TimeSpan.FromSeconds(10)))
        using (var comm = new TcpCommunicator(store, 0, 2, "127.0.0.1", TimeSpan.FromSeconds(10)))
        using (TensorScope.Begin())
        {
            rank1.Join();
            seen = Assert.ThrowsAny<Exception>(() => comm.AllReduceSum(Tensor.Ones(new Shape(4))));
        }
        Assert.Contains("rank 1", seen!.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void ASilentPeerEndsTheCollectiveAtTheTimeout()
    {
        int port = FreePort();
        using var silent = new ManualResetEventSlim();
        var rank1 = new Thread(() =>
        {
            using var store = new TcpStore("127.0.0.1", port, false, TimeSpan.FromSeconds(10));
            using var comm = new TcpCommunicator(store, 1, 2, "127.0.0.1", TimeSpan.FromSeconds(10));
            silent.Wait(); // alive but never joins the collective
        });
        rank1.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var store = new TcpStore("127.0.0.1", port, true, TimeSpan.FromSeconds(10)))
        using (var comm = new TcpCommunicator(store, 0, 2, "127.0.0.1", TimeSpan.FromSeconds(2)))
        using (TensorScope.Begin())
        {
            var e = Assert.ThrowsAny<TimeoutException>(() => comm.AllReduceSum(Tensor.Ones(new Shape(4))));
            Assert.Contains("rank 1", e.Message);
        }
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 9);
        silent.Set();
        rank1.Join();
    }

    /// A rank may leave the last barrier and close the store while the others' replies are still
    /// on their way: every rank must still get out of it (the race CI once hit: arrive and wait
    /// were two requests, and rank 0 hung up between them).
    [Fact]
    public void EveryRankLeavesTheLastBarrierWhenRankZeroClosesAtOnce()
    {
        for (int round = 0; round < 20; round++)
        {
            int port = FreePort();
            var errors = new Exception?[3];
            var threads = Enumerable.Range(0, 3).Select(r => new Thread(() =>
            {
                try
                {
                    using var store = new TcpStore("127.0.0.1", port, r == 0, TimeSpan.FromSeconds(10));
                    store.Barrier("finished", 3);
                }
                catch (Exception e) { errors[r] = e; }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            foreach (var e in errors) Assert.Null(e);
        }
    }

    /// A rank waiting on a key when rank 0 closes the store hears so at once, not at its timeout.
    [Fact]
    public void AWaitingRankHearsThatRankZeroClosedTheStore()
    {
        int port = FreePort();
        var server = new TcpStore("127.0.0.1", port, true, TimeSpan.FromSeconds(30));
        using var client = new TcpStore("127.0.0.1", port, false, TimeSpan.FromSeconds(30));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var waiting = Task.Run(() => client.Get("never-set"));
        Thread.Sleep(300);
        server.Dispose();
        var e = Assert.Throws<IOException>(() => waiting.GetAwaiter().GetResult());
        Assert.Contains("rank 0 closed the store while this rank waited for 'never-set'", e.Message);
        Assert.True(clock.Elapsed.TotalSeconds < 10, $"heard after {clock.Elapsed.TotalSeconds:F1} s");
    }

    static Tensor[] Weights(int[] sizes)
    {
        var rng = new Rng(3);
        return sizes.Select(n =>
        {
            var w = TensorScope.Escape(Tensor.Uniform(new Shape(n), rng, 0.5, 1.5));
            w.RequiresGrad = true;
            return w;
        }).ToArray();
    }

    /// h = x; for each weight: h = silu(sum(h) * w); loss = sum(h).
    static Tensor Loss(Tensor[] ws, int rank)
    {
        var h = Tensor.FromArray([1f + rank, -0.5f * rank], 2);
        foreach (var w in ws) h = (h.Sum() * w).Silu();
        return h.Sum();
    }
}
