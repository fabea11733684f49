using System.Diagnostics;

namespace YoloCore.Training;

/// Wall time per phase of a training step (forward, loss, backward, optimizer, EMA). When enabled it
/// waits for the device at each mark, so GPU work is charged to the phase that queued it; disabled
/// it costs nothing and the device runs ahead freely.
public sealed class PhaseTimer(IBackend backend, bool enabled)
{
    readonly Dictionary<string, double> totals = [];
    long last = Stopwatch.GetTimestamp();

    public bool Enabled { get; } = enabled;
    public IReadOnlyDictionary<string, double> TotalsMs => totals;

    public void Start()
    {
        if (!Enabled) return;
        backend.Synchronize();
        last = Stopwatch.GetTimestamp();
    }

    public void Mark(string phase)
    {
        if (!Enabled) return;
        backend.Synchronize();
        long now = Stopwatch.GetTimestamp();
        totals[phase] = totals.GetValueOrDefault(phase) + Stopwatch.GetElapsedTime(last, now).TotalMilliseconds;
        last = now;
    }

    public void Reset() => totals.Clear();
}
