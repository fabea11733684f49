namespace YoloCore.Distributed;

/// How gradients are grouped for all-reduce, as PyTorch DDP does it: in reverse registration order
/// (backward produces the last layers' gradients first), about `bucketBytes` per bucket, and a small
/// first bucket so communication starts as early as possible in backward.
public static class BucketPlan
{
    public const long DefaultBucketBytes = 25L << 20, DefaultFirstBucketBytes = 1L << 20;

    /// Bucket b lists parameter indices (into the registration order) in the order they fill it:
    /// the last registered first.
    public static List<int[]> Assign(IReadOnlyList<long> parameterBytes, long bucketBytes = DefaultBucketBytes, long firstBucketBytes = DefaultFirstBucketBytes)
    {
        int n = parameterBytes.Count;
        return InOrder(Enumerable.Range(0, n).Select(k => parameterBytes[n - 1 - k]).ToList(), bucketBytes, firstBucketBytes)
            .Select(b => b.Select(k => n - 1 - k).ToArray()).ToList();
    }

    /// Buckets over tensors listed in the order their gradients become ready: bucket b lists
    /// positions in that list.
    public static List<int[]> InOrder(IReadOnlyList<long> readyBytes, long bucketBytes = DefaultBucketBytes, long firstBucketBytes = DefaultFirstBucketBytes)
    {
        var buckets = new List<int[]>();
        var current = new List<int>();
        long size = 0;
        for (int k = 0; k < readyBytes.Count; k++)
        {
            current.Add(k);
            size += readyBytes[k];
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
