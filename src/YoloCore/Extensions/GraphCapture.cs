namespace YoloCore;

/// Capturing queued work once and replaying it (CUDA graphs, stream capture), an extension op
/// (IBackend.Extension). Between BeginCapture and EndCapture the ops a backend is given are
/// recorded, not run; Replay runs them all, in order, with one launch. What that means for the
/// code being captured:
/// - host values passed to ops (scalars, shapes, lists) are frozen: every replay uses the
///   captured ones, so whatever changes from step to step must be read from device memory
///   (StagedValues) that the host updates before each replay;
/// - a host-to-device copy becomes a constant: the bytes at capture time are copied again on
///   every replay (the multi-tensor ops' tensor lists, the loss's constant weights);
/// - waiting for the device, reading back and asynchronous uploads are errors;
/// - memory allocated while capturing belongs to the graph (its private pool) until the graph
///   is disposed, so the addresses the graph uses stay valid and no one else's tensor lands there.
public interface IGraphCapture
{
    void BeginCapture();
    /// Ends the capture and returns the graph, ready to replay.
    ICapturedGraph EndCapture();
    /// Ends a capture that failed, discarding what it recorded.
    void AbortCapture();
    bool IsCapturing { get; }
}

/// A captured graph: Replay queues all of it again.
public interface ICapturedGraph : IDisposable
{
    void Replay();
    /// How many ops it holds (kernels, GEMMs, copies and fills).
    int Ops { get; }
}
