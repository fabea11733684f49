namespace YoloCore.Training;

/// For fault tests only: YOLOCORE_FAULT_EXIT_RANK=R with YOLOCORE_FAULT_AFTER_STEPS=N makes rank R
/// exit abruptly (code 137, as if killed) before its iteration N, so tests can check that the other
/// ranks end with a clear error instead of hanging.
internal static class FaultInjection
{
    static readonly int rank = int.TryParse(Environment.GetEnvironmentVariable("YOLOCORE_FAULT_EXIT_RANK"), out int r) ? r : -1;
    static readonly int after = int.TryParse(Environment.GetEnvironmentVariable("YOLOCORE_FAULT_AFTER_STEPS"), out int n) ? n : 0;

    public static void MaybeExit(int currentRank, int steps)
    {
        if (rank >= 0 && currentRank == rank && steps >= after) Environment.Exit(137);
    }
}
