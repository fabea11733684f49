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
            var mean = Array.ConvertAll(Sums(px, null, m, c, null, null), s => s / m);
            var sq = Sums(px, px, m, c, mean, mean);
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
        static void Affine(T* x, T* y, long rows, int c, T[] scale, T[] shift)
        {
            if (typeof(T) == typeof(float))
            {
                ChannelReductions.Affine((float*)x, (float*)y, rows, c, (float[])(object)scale, (float[])(object)shift);
                return;
            }
            CpuParallel.For(rows, Math.Max(1, ElementwiseGrain / c), (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    T* xr = x + r * c, yr = y + r * c;
                    for (int j = 0; j < c; j++) yr[j] = xr[j] * scale[j] + shift[j];
                }
            });
        }

        /// Σ_r (a[r, j] - shiftA[j])·(b[r, j] - shiftB[j]) per channel (b null: the factor is 1).
        /// Float32 runs the vectorised reduction; float64 (gradient checks) the plain one.
        static double[] Sums(T* a, T* b, long rows, int c, double[]? shiftA, double[]? shiftB)
        {
            if (typeof(T) == typeof(float))
                return ChannelReductions.Sum((float*)a, (float*)b, rows, c,
                    shiftA is null ? null : Array.ConvertAll(shiftA, v => (float)v), shiftB is null ? null : Array.ConvertAll(shiftB, v => (float)v));
            return ChannelSums(rows, c, (r, j) => (D(a[r * c + j]) - (shiftA?[j] ?? 0)) * (b == null ? 1 : D(b[r * c + j]) - (shiftB?[j] ?? 0)));
        }

        public static void Backward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta)
        {
            int c = x.Shape[3];
            long m = x.Count / c;
            T* px = Ptr<T>(x), pgy = Ptr<T>(gy), pg = Ptr<T>(gamma), pm = Ptr<T>(saveMean), pi = Ptr<T>(saveInvStd);
            // gβ = Σ gy; gγ = Σ gy·x̂ with x̂ = (x - μ)·σ⁻¹.
            var meanX = new double[c];
            for (int j = 0; j < c; j++) meanX[j] = D(pm[j]);
            var sumGy = Sums(pgy, null, m, c, null, null);
            var sumGyXhat = Sums(pgy, px, m, c, null, meanX);
            for (int j = 0; j < c; j++) sumGyXhat[j] *= D(pi[j]);
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
            if (typeof(T) == typeof(float))
            {
                var m2 = new float[c];
                for (int j = 0; j < c; j++) m2[j] = (float)(D(pi[j]) * sumGyXhat[j] / m);
                ChannelReductions.BatchNormInputGrad((float*)px, (float*)pgy, (float*)pgx, m, c, (float[])(object)k,
                    Array.ConvertAll(meanX, v => (float)v), (float[])(object)meanGy, m2);
                return;
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
