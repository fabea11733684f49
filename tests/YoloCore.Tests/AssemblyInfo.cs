// Tests run one at a time: the ops already use every core, and memory tests read process-wide
// live-byte counters that concurrent tests would disturb.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
