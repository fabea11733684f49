namespace YoloCore.Distributed;

/// How gradients are grouped for all-reduce, as PyTorch DDP does it: in reverse registration order
/// (backward produces the last layers' gradients first), about `bucketBytes` per bucket, and a small
/// first bucket so communication starts as early as possible in backward.
public static class BucketPlan
{
    public const long DefaultBucketBytes = 25L << 20, DefaultFirstBucketBytes = 1L << 20;

    /// Bucket b lists parameter indices (into the registration order) in the order they fill it.
    public static List<int[]> Assign(IReadOnlyList<long> parameterBytes, long bucketBytes = DefaultBucketBytes, long firstBucketBytes = DefaultFirstBucketBytes)
    {
        var buckets = new List<int[]>();
        var current = new List<int>();
        long size = 0;
        for (int i = parameterBytes.Count - 1; i >= 0; i--)
        {
            current.Add(i);
            size += parameterBytes[i];
            long limit = buckets.Count == 0 ? firstBucketBytes : bucketBytes;
            if (size >= limit)
            {
                buckets.Add(current.ToArray());
                current.Clear();
                size = 0;
            }
        }
        if (current.Count > 0) buckets.Add(current.ToArray());
        return buckets;
    }
}
