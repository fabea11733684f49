// Tests run one at a time: loaders start their own worker threads and the machine is small.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
