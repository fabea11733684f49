using System.Reflection;
using YoloCore.Diagnostics;

namespace YoloCore.Cpu;

/// Graph capture on the CPU, by recording: while capturing, the CPU's backend is replaced by a
/// recorder (one dispatch hook over IBackend and its extensions, as the profiler) that keeps each
/// op call, its tensors and its host values, and runs nothing; Replay makes the calls again. It
/// follows CUDA's rules (IGraphCapture), so a training step that replays correctly here is one
/// whose per-step values all come from device memory: the CPU tests of the captured step prove
/// what the GPU's graph will do. Unlike a CUDA graph's pool it never reuses memory: the graph
/// holds every buffer it touched until it is disposed.
public sealed class CpuGraphCapture(CpuBackend backend) : IGraphCapture
{
    Recorder? recording;
    IBackend? replaced;

    public bool IsCapturing => recording is not null;

    public void BeginCapture()
    {
        if (recording is not null) throw new InvalidOperationException("a capture is already under way on the CPU");
        replaced = Backends.For(backend.Device);
        recording = new Recorder();
        Backends.Register(recording.Wrap(replaced));
    }

    public ICapturedGraph EndCapture()
    {
        var r = recording ?? throw new InvalidOperationException("EndCapture without BeginCapture");
        Stop();
        return new Graph(r.Calls, r.Held);
    }

    public void AbortCapture()
    {
        var r = recording;
        if (r is null) return;
        Stop();
        new Graph(r.Calls, r.Held).Dispose();
    }

    void Stop()
    {
        Backends.Register(replaced!);
        (recording, replaced) = (null, null);
    }

    /// One recorded call: the object (the backend or an extension), the method and its arguments.
    internal readonly record struct Call(object Target, MethodInfo Method, object?[] Args);

    sealed class Graph(List<Call> calls, List<Tensor> held) : ICapturedGraph
    {
        public int Ops => calls.Count;

        public void Replay()
        {
            foreach (var c in calls) DispatchHook.Call(c.Target, c.Method, c.Args);
        }

        public void Dispose()
        {
            foreach (var t in held) t.Dispose();
            held.Clear();
            calls.Clear();
        }
    }

    internal sealed class Recorder
    {
        public readonly List<Call> Calls = [];
        /// A handle on every tensor a call uses, so its memory outlives the capture's own handles.
        public readonly List<Tensor> Held = [];
        readonly Dictionary<Tensor, Tensor> holds = new(ReferenceEqualityComparer.Instance);

        public T Wrap<T>(T target) where T : class => DispatchHook.Wrap(target, Dispatch);

        // Run at once: memory itself is real while capturing (it is the graph's).
        static readonly HashSet<string> passThrough =
            ["get_" + nameof(IBackend.Device), "get_" + nameof(IBackend.ReadsDeferredBatchNormSilu), nameof(IBackend.Allocate), nameof(IBackend.AllocatePinned), nameof(IBackend.FreePinned)];
        // What a CUDA stream capture refuses.
        static readonly HashSet<string> refused =
            [nameof(IBackend.Synchronize), nameof(IBackend.CopyToHost), nameof(IBackend.UploadAsync), nameof(IBackend.DownloadAsync),
             nameof(IBackend.DeviceWait), nameof(IBackend.HostWait)];

        public unsafe object? Dispatch(object target, MethodInfo method, object?[] args)
        {
            if (method.Name == nameof(IBackend.Extension))
            {
                var extension = DispatchHook.Call(target, method, args)!;
                return extension is IGraphCapture ? extension : DispatchHook.WrapExtension(method, extension, Dispatch);
            }
            if (passThrough.Contains(method.Name)) return DispatchHook.Call(target, method, args);
            if (refused.Contains(method.Name))
                throw new InvalidOperationException($"{method.Name} while a step is being captured: a captured step must not wait for the device, " +
                    "read back or upload asynchronously (stage per-step values before the capture, read results after the replay)");
            if (method.Name == nameof(IBackend.CopyFromHost))
            {
                // A constant: the bytes as they are now, copied again on every replay.
                var destination = (Tensor)args[1]!;
                var bytes = new byte[destination.Bytes];
                new ReadOnlySpan<byte>((void*)(nint)args[0]!, bytes.Length).CopyTo(bytes);
                var dst = Hold(destination);
                Calls.Add(new Call(bytes, typeof(Recorder).GetMethod(nameof(CopyConstant), BindingFlags.NonPublic | BindingFlags.Static)!, [bytes, target, dst]));
                return null;
            }
            if (method.ReturnType != typeof(void)) throw new InvalidOperationException($"{method.Name} returns a value and cannot be captured");
            Calls.Add(new Call(target, method, args.Select(Snapshot).ToArray()));
            return null;
        }

        /// Replays a captured CopyFromHost from the constant's bytes.
        static unsafe void CopyConstant(byte[] bytes, IBackend backend, Tensor destination)
        {
            fixed (byte* p = bytes) backend.CopyFromHost((nint)p, destination);
        }

        object? Snapshot(object? arg) => arg switch
        {
            Tensor t => Hold(t),
            IReadOnlyList<Tensor?> list => list.Select(t => t is null ? null : Hold(t)).ToArray(),
            IReadOnlyList<YoloLossLevel> levels => levels.Select(l => new YoloLossLevel(Hold(l.Head), Hold(l.Rows), Hold(l.Box), Hold(l.Anchors), Hold(l.Classes),
                l.Count is null ? null : Hold(l.Count))).ToArray(), // the loss's levels: records of tensors
            ConvInput x => new ConvInput(x.Parts.Select(Hold).ToArray(), x.Maps.Select(m => m is null ? null : Hold(m)).ToArray()), // a Conv block's input parts
            IReadOnlyList<bool> flags => flags.ToArray(),
            int[] a => a.Clone(),
            _ => arg, // values, and immutable records (geometries, loss terms)
        };

        Tensor Hold(Tensor t)
        {
            if (!holds.TryGetValue(t, out var h))
            {
                holds[t] = h = t.ShareStorage(t.Shape, scoped: false);
                Held.Add(h);
            }
            return h;
        }
    }
}
