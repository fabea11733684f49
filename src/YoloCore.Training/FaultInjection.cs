namespace YoloCore.Training;

/// For fault tests only. Two ways to die abruptly, each "exit 137, as if killed":
/// - YOLOCORE_FAULT_EXIT_RANK=R with YOLOCORE_FAULT_AFTER_STEPS=N: rank R exits before its
///   iteration N, so tests can check that the other ranks end with a clear error instead of hanging;
/// - YOLOCORE_FAULT_CHECKPOINT_BYTES=B: the process exits once its checkpoint writes have spent B
///   units (one per byte written, one per rename), leaving on disk exactly what a kill at that
///   moment leaves: a file cut short or a set half renamed.
/// In-process tests set CheckpointBudget and Crash (to throw instead of exiting).
public static class FaultInjection
{
    static readonly int rank = int.TryParse(Environment.GetEnvironmentVariable("YOLOCORE_FAULT_EXIT_RANK"), out int r) ? r : -1;
    static readonly int after = int.TryParse(Environment.GetEnvironmentVariable("YOLOCORE_FAULT_AFTER_STEPS"), out int n) ? n : 0;

    /// The crash comes when checkpoint work has spent this many units; negative: never.
    public static long CrashAt { get; set; } =
        long.TryParse(Environment.GetEnvironmentVariable("YOLOCORE_FAULT_CHECKPOINT_BYTES"), out long b) ? b : -1;

    /// Units of checkpoint work spent so far in this process.
    public static long Spent { get; set; }

    /// When set, the units spent at every boundary between two checkpoint writes (a file complete,
    /// before each rename): the points where a kill lands between writes.
    public static List<long>? Boundaries { get; set; }

    /// What a crash does.
    public static Action Crash { get; set; } = () => Environment.Exit(137);

    internal static void MaybeExit(int currentRank, int steps)
    {
        if (rank >= 0 && currentRank == rank && steps >= after) Environment.Exit(137);
    }

    /// Spends up to `wanted` units; returns how many may be used before the crash.
    internal static long Spend(long wanted)
    {
        long granted = CrashAt < 0 ? wanted : Math.Clamp(CrashAt - Spent, 0, wanted);
        Spent += granted;
        return granted;
    }

    /// A boundary between two checkpoint writes.
    internal static void Boundary() => Boundaries?.Add(Spent);

    /// A checkpoint step (a rename) that is not writing bytes: crashes first when the budget is spent.
    internal static void Step()
    {
        Boundary();
        if (Spend(1) < 1) CrashNow();
    }

    internal static void CrashNow()
    {
        CrashAt = -1;
        Crash();
    }
}

/// A file stream that stops where FaultInjection's budget ends: the bytes granted reach the file,
/// then the process crashes.
sealed class FaultStream(FileStream inner) : Stream
{
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        long granted = FaultInjection.Spend(buffer.Length);
        inner.Write(buffer[..(int)granted]);
        if (granted < buffer.Length)
        {
            inner.Flush(flushToDisk: true);
            FaultInjection.CrashNow();
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void WriteByte(byte value) => Write([value]);
    public override void Flush() => inner.Flush();
    public void FlushToDisk() => inner.Flush(flushToDisk: true);
    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
