using System.Numerics;

namespace YoloCore.Cpu;

// The fast tier's dst += alpha·src (gradient accumulation): whole vectors at a time.
public sealed unsafe partial class CpuBackend
{
    static void FastAxpy(Tensor destination, Tensor source, float alpha)
    {
        float* d = Ptr<float>(destination), s = Ptr<float>(source);
        CpuParallel.For(destination.Count, ElementwiseGrain, (lo, hi) =>
        {
            long i = lo;
            var va = new Vector<float>(alpha);
            for (; i + Vector<float>.Count <= hi; i += Vector<float>.Count)
                (Vector.Load(d + i) + va * Vector.Load(s + i)).Store(d + i);
            for (; i < hi; i++) d[i] += alpha * s[i];
        });
    }
}
