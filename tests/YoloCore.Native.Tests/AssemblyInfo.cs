// The resolver tests set YOLOCORE_CUDA_LIB_DIRS, which is process-wide: run tests one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
