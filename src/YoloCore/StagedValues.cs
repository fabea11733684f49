using System.Runtime.InteropServices;

namespace YoloCore;

/// Values the host sets for every training step (learning rates, the EMA decay, the loss's
/// targets), kept in one device block that the step's kernels read. The host writes them in
/// page-locked memory and sends them in one asynchronous copy before the step's ops are queued.
/// Because the kernels read the block rather than taking the values as arguments, a step
/// captured once as a CUDA graph reads each step's values when it is replayed, not the ones it
/// was captured with. The block's layout (its fields) is fixed when it is made; the fields are
/// views into it, unscoped and owned by this object.
public sealed unsafe class StagedValues : IDisposable
{
    // The values as the host last set them, and two page-locked slots they are copied into for
    // an upload, used in turn: a slot is reused only after its upload (two steps back) has
    // finished, so Upload does not wait for the one just queued.
    const int Slots = 2;
    readonly byte[] values;
    readonly IBackend backend;
    readonly Tensor block;
    readonly Tensor[] fields;
    readonly long[] offsets;
    readonly nint[] host = new nint[Slots];
    readonly long[] fences = [-1, -1];
    int uploads;

    /// One field per (shape, dtype), each aligned to 16 bytes in the block.
    public StagedValues(Device device, params (Shape Shape, DType DType)[] layout)
    {
        backend = Backends.For(device);
        offsets = new long[layout.Length];
        long bytes = 0;
        for (int i = 0; i < layout.Length; i++)
        {
            offsets[i] = bytes;
            bytes += (layout[i].Shape.Count * layout[i].DType.SizeOf() + 15) / 16 * 16;
        }
        Bytes = Math.Max(16, bytes);
        block = Tensor.EmptyUnscoped(new Shape(checked((int)Bytes)), DType.UInt8, device);
        fields = new Tensor[layout.Length];
        for (int i = 0; i < layout.Length; i++)
        {
            var (shape, dtype) = layout[i];
            fields[i] = new Tensor(block.Storage.Slice(offsets[i], Math.Max(1, shape.Count) * dtype.SizeOf()), shape, dtype, scoped: false);
        }
        values = new byte[Bytes];
        for (int s = 0; s < Slots; s++) host[s] = backend.AllocatePinned(Bytes);
    }

    public long Bytes { get; }

    /// Field i on the device, as the kernels read it.
    public Tensor this[int i] => fields[i];

    /// Field i as the host sets it; it keeps its value until set again, and Upload sends it.
    public Span<T> Host<T>(int i) where T : unmanaged
    {
        var f = fields[i];
        if (sizeof(T) != f.DType.SizeOf()) throw new ArgumentException($"field {i} is {f.DType.Name()}, not {typeof(T).Name}");
        return MemoryMarshal.Cast<byte, T>(values.AsSpan((int)offsets[i], (int)(f.Count * sizeof(T))));
    }

    /// Sends the values to the device block, after the ops already queued (which may still be
    /// reading the last step's values) and before the ops queued next.
    public void Upload()
    {
        int slot = uploads++ % Slots;
        if (fences[slot] >= 0) backend.HostWait(fences[slot]);
        values.CopyTo(new Span<byte>((void*)host[slot], values.Length));
        long fence = backend.UploadAsync(host[slot], block);
        backend.DeviceWait(fence);
        fences[slot] = fence;
    }

    public void Dispose()
    {
        for (int s = 0; s < Slots; s++)
        {
            if (fences[s] >= 0) backend.HostWait(fences[s]);
            fences[s] = -1;
            if (host[s] != 0) backend.FreePinned(host[s]);
            host[s] = 0;
        }
        foreach (var f in fields) f.Dispose();
        block.Dispose();
    }
}
