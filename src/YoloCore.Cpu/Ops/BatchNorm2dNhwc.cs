using System.Numerics;

namespace YoloCore.Cpu;

// BatchNorm2d over N·H·W rows of an NHWC tensor [M, C]: per-channel statistics are sums down the
// rows. Rows are split into fixed chunks whose partial sums (in double) are combined in chunk order,
// so results do not depend on thread timing.
public sealed unsafe partial class CpuBackend
{
    public void BatchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) =>
        Floating(x, "BatchNorm2d", () => BatchNormKernel<float>.Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd),
            () => BatchNormKernel<double>.Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd));

    public void BatchNormEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y) =>
        Floating(x, "BatchNorm2d", () => BatchNormKernel<float>.Eval(x, gamma, beta, runningMean, runningVar, eps, y),
            () => BatchNormKernel<double>.Eval(x, gamma, beta, runningMean, runningVar, eps, y));

    public void BatchNormBackward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta) =>
        Floating(x, "BatchNorm2d", () => BatchNormKernel<float>.Backward(x, gy, gamma, saveMean, saveInvStd, gx, ggamma, gbeta),
            () => BatchNormKernel<double>.Backward(x, gy, gamma, saveMean, saveInvStd, gx, ggamma, gbeta));

    static class BatchNormKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int RowsPerChunk = 1024;

        /// Per-channel Σ f(row, c) over all rows, chunked and combined in order.
        static double[] ChannelSums(long rows, int c, Func<long, int, double> f)
        {
            int chunks = (int)Math.Max(1, (rows + RowsPerChunk - 1) / RowsPerChunk);
            var partial = new double[chunks][];
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = CpuParallel.MaxThreads }, k =>
            {
                var acc = new double[c];
                long end = Math.Min(rows, (k + 1L) * RowsPerChunk);
                for (long r = (long)k * RowsPerChunk; r < end; r++)
                    for (int j = 0; j < c; j++) acc[j] += f(r, j);
                partial[k] = acc;
            });
            var total = new double[c];
            foreach (var p in partial)
                for (int j = 0; j < c; j++) total[j] += p[j];
            return total;
        }

        static double D(T v) => double.CreateTruncating(v);

        public static void Train(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
            double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd)
        {
            int c = x.Shape[3];
            long m = x.Count / c;
            T* px = Ptr<T>(x), py = Ptr<T>(y);
            T* pg = Ptr<T>(gamma), pb = Ptr<T>(beta), prm = Ptr<T>(runningMean), prv = Ptr<T>(runningVar);
            T* pm = Ptr<T>(saveMean), pi = Ptr<T>(saveInvStd);
            var sum = ChannelSums(m, c, (r, j) => D(px[r * c + j]));
            var mean = Array.ConvertAll(sum, s => s / m);
            var sq = ChannelSums(m, c, (r, j) => { double v = D(px[r * c + j]) - mean[j]; return v * v; });
            var scale = new T[c];
            var shift = new T[c];
            for (int j = 0; j < c; j++)
            {
                double var = sq[j] / m, inv = 1 / Math.Sqrt(var + eps);
                pm[j] = T.CreateChecked(mean[j]);
                pi[j] = T.CreateChecked(inv);
                prm[j] = T.CreateChecked((1 - momentum) * D(prm[j]) + momentum * mean[j]);
                prv[j] = T.CreateChecked((1 - momentum) * D(prv[j]) + momentum * var * m / (m - 1));
                scale[j] = T.CreateChecked(D(pg[j]) * inv);
                shift[j] = T.CreateChecked(D(pb[j]) - mean[j] * D(pg[j]) * inv);
            }
            Affine(px, py, m, c, scale, shift);
        }

        public static void Eval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y)
        {
            int c = x.Shape[3];
            T* pg = Ptr<T>(gamma), pb = Ptr<T>(beta), prm = Ptr<T>(runningMean), prv = Ptr<T>(runningVar);
            var scale = new T[c];
            var shift = new T[c];
            for (int j = 0; j < c; j++)
            {
                double inv = 1 / Math.Sqrt(D(prv[j]) + eps);
                scale[j] = T.CreateChecked(D(pg[j]) * inv);
                shift[j] = T.CreateChecked(D(pb[j]) - D(prm[j]) * D(pg[j]) * inv);
            }
            Affine(Ptr<T>(x), Ptr<T>(y), x.Count / c, c, scale, shift);
        }

        /// y[r, j] = x[r, j]·scale[j] + shift[j]
        static void Affine(T* x, T* y, long rows, int c, T[] scale, T[] shift) =>
            CpuParallel.For(rows, Math.Max(1, ElementwiseGrain / c), (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    T* xr = x + r * c, yr = y + r * c;
                    for (int j = 0; j < c; j++) yr[j] = xr[j] * scale[j] + shift[j];
                }
            });

        public static void Backward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta)
        {
            int c = x.Shape[3];
            long m = x.Count / c;
            T* px = Ptr<T>(x), pgy = Ptr<T>(gy), pg = Ptr<T>(gamma), pm = Ptr<T>(saveMean), pi = Ptr<T>(saveInvStd);
            // gβ = Σ gy; gγ = Σ gy·x̂ with x̂ = (x - μ)·σ⁻¹.
            var sumGy = ChannelSums(m, c, (r, j) => D(pgy[r * c + j]));
            var sumGyXhat = ChannelSums(m, c, (r, j) => D(pgy[r * c + j]) * (D(px[r * c + j]) - D(pm[j])) * D(pi[j]));
            if (gbeta is not null) { T* p = Ptr<T>(gbeta); for (int j = 0; j < c; j++) p[j] = T.CreateChecked(sumGy[j]); }
            if (ggamma is not null) { T* p = Ptr<T>(ggamma); for (int j = 0; j < c; j++) p[j] = T.CreateChecked(sumGyXhat[j]); }
            if (gx is null) return;
            // gx = γσ⁻¹·(gy - gβ/M - x̂·gγ/M)
            T* pgx = Ptr<T>(gx);
            var k = new T[c];
            var meanGy = new T[c];
            var meanGyXhat = new T[c];
            for (int j = 0; j < c; j++)
            {
                k[j] = T.CreateChecked(D(pg[j]) * D(pi[j]));
                meanGy[j] = T.CreateChecked(sumGy[j] / m);
                meanGyXhat[j] = T.CreateChecked(sumGyXhat[j] / m);
            }
            CpuParallel.For(m, Math.Max(1, ElementwiseGrain / c), (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    for (int j = 0; j < c; j++)
                    {
                        long o = r * c + j;
                        T xhat = (px[o] - pm[j]) * pi[j];
                        pgx[o] = k[j] * (pgy[o] - meanGy[j] - xhat * meanGyXhat[j]);
                    }
                }
            });
        }
    }
}
