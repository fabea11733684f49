using System.Numerics;

namespace YoloCore.Cpu;

// BatchNorm2d over N·H·W rows of an NHWC tensor [M, C], alone or followed by SiLU in the same
// passes (YOLOv5's Conv block): the reference is a plain loop per element; the fast tier runs the
// vectorised, chunked passes of Fast/BatchNorm2d.cs. Per-channel sums are combined in a fixed
// order, so results do not depend on thread timing.
public sealed unsafe partial class CpuBackend
{
    public void BatchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) =>
        Floating(x, "BatchNorm2d", () => BatchNormKernel<float>.Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, silu: false, UseFast(x)),
            () => BatchNormKernel<double>.Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, silu: false, false));

    public void BatchNormSiluTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd, Tensor? batchSums = null, Tensor? residual = null)
    {
        if (batchSums is not null) BatchSums.Check(batchSums, x.Shape[3]);
        Floating(x, "BatchNormSilu", () => BatchNormKernel<float>.Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, silu: true, UseFast(x), batchSums, residual),
            () => BatchNormKernel<double>.Train(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, silu: true, false, batchSums, residual));
    }

    /// BatchNorm's batch sums of y: Σy and Σy² per channel (last axis) into float64 [2, C], checked by the caller.
    void WriteBatchSums(Tensor y, Tensor batchSums) =>
        Floating(y, "BatchSums", () => BatchNormKernel<float>.Sums(y, batchSums, UseFast(y)), () => BatchNormKernel<double>.Sums(y, batchSums, false));

    public void BatchNormEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y) =>
        Floating(x, "BatchNorm2d", () => BatchNormKernel<float>.Eval(x, gamma, beta, runningMean, runningVar, eps, y, UseFast(x)),
            () => BatchNormKernel<double>.Eval(x, gamma, beta, runningMean, runningVar, eps, y, false));

    public void BatchNormBackward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta) =>
        Floating(x, "BatchNorm2d", () => BatchNormKernel<float>.Backward(x, gy, gamma, null, saveMean, saveInvStd, gx, ggamma, gbeta, UseFast(x)),
            () => BatchNormKernel<double>.Backward(x, gy, gamma, null, saveMean, saveInvStd, gx, ggamma, gbeta, false));

    public void BatchNormSiluBackward(Tensor x, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor? gx, Tensor? ggamma, Tensor? gbeta) =>
        Floating(x, "BatchNormSilu", () => BatchNormKernel<float>.Backward(x, gy, gamma, beta, saveMean, saveInvStd, gx, ggamma, gbeta, UseFast(x)),
            () => BatchNormKernel<double>.Backward(x, gy, gamma, beta, saveMean, saveInvStd, gx, ggamma, gbeta, false));

    /// The two ops' backward one after the other, through BatchNorm's input gradient, the
    /// convolution's over x's value as one tensor (ConvInput.JoinedBackward).
    public void ConvBatchNormSiluBackward(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gy, Tensor gamma, Tensor beta, Tensor saveMean,
        Tensor saveInvStd, IReadOnlyList<Tensor?> gx, Tensor? gw, Tensor? ggamma, Tensor? gbeta, IReadOnlyList<bool> addToGx)
    {
        using var gyConv = gx.All(t => t is null) && gw is null ? null : Tensor.Empty(y.Shape, y.DType, y.Device);
        BatchNormSiluBackward(y, gy, gamma, beta, saveMean, saveInvStd, gyConv, ggamma, gbeta);
        if (gyConv is not null) x.JoinedBackward(this, w, gyConv, g, gx, gw, addToGx);
    }

    /// Conv2d with y's batch sums, then the statistics from them.
    public void ConvBatchNormSiluDeferred(ConvInput x, Tensor w, Conv2dGeometry g, Tensor y, Tensor gamma, Tensor beta, Tensor runningMean,
        Tensor runningVar, double momentum, double eps, Tensor saveMean, Tensor saveInvStd, Tensor map)
    {
        using var sums = BatchSums.Empty(w.Shape[0], y.Device);
        Conv2d(x, w, g, y, sums);
        long rows = y.Count / y.Shape[3];
        Floating(gamma, "BatchNormSilu", () => BatchNormKernel<float>.Statistics(sums, rows, gamma, beta, runningMean, runningVar, momentum, eps, saveMean, saveInvStd, map),
            () => BatchNormKernel<double>.Statistics(sums, rows, gamma, beta, runningMean, runningVar, momentum, eps, saveMean, saveInvStd, map));
    }

    public void BatchNormSiluMap(Tensor x, Tensor map, Tensor y) =>
        Floating(x, "BatchNormSilu", () => BatchNormKernel<float>.Map(x, map, y, UseFast(x)), () => BatchNormKernel<double>.Map(x, map, y, false));

    /// The CPU applies a deferred input in a pass of its own: deferring saves it nothing.
    public bool ReadsDeferredBatchNormSilu => false;

    /// fast: T is float and the op takes Fast/BatchNorm2d.cs's passes.
    static class BatchNormKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static double D(T v) => double.CreateTruncating(v);
        static T Silu(T z) => z / (T.One + T.Exp(-z));
        static T SiluGrad(T z)
        {
            T s = T.One / (T.One + T.Exp(-z));
            return s * (T.One + z * (T.One - s));
        }

        /// Mean and Σ(x - mean)² per channel.
        static (double[] Mean, double[] CentredSquares) Moments(T* x, long rows, int c, bool fast)
        {
            if (fast) return FastBatchNorm2d.Moments((float*)x, rows, c);
            var mean = new double[c];
            var sq = new double[c];
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < c; j++) mean[j] += D(x[r * c + j]);
            for (int j = 0; j < c; j++) mean[j] /= rows;
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < c; j++) { double d = D(x[r * c + j]) - mean[j]; sq[j] += d * d; }
            return (mean, sq);
        }

        /// Σy and Σy² per channel in double, chunk by chunk in a fixed order.
        public static void Sums(Tensor y, Tensor batchSums, bool fast)
        {
            int c = y.Shape[y.Rank - 1];
            long rows = y.Count / c;
            double* out_ = Ptr<double>(batchSums);
            if (fast)
            {
                FastBatchNorm2d.Sums((float*)Ptr<T>(y), rows, c, out_);
                return;
            }
            new Span<double>(out_, 2 * c).Clear();
            T* p = Ptr<T>(y);
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < c; j++)
                {
                    double v = D(p[r * c + j]);
                    out_[j] += v;
                    out_[c + j] += v * v;
                }
        }

        /// Mean and Σ(x - mean)² from the batch sums: Σx² - mean·Σx, in double.
        static (double[] Mean, double[] CentredSquares) FromSums(Tensor batchSums, long rows, int c)
        {
            double* s = Ptr<double>(batchSums);
            var mean = new double[c];
            var sq = new double[c];
            for (int j = 0; j < c; j++)
            {
                mean[j] = s[j] / rows;
                sq[j] = Math.Max(s[c + j] - mean[j] * s[j], 0);
            }
            return (mean, sq);
        }

        public static void Train(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
            double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd, bool silu, bool fast, Tensor? batchSums = null, Tensor? residual = null)
        {
            int c = x.Shape[3];
            long m = x.Count / c;
            var (mean, sq) = batchSums is null ? Moments(Ptr<T>(x), m, c, fast) : FromSums(batchSums, m, c);
            var scale = Keep(mean, sq, m, c, gamma, runningMean, runningVar, momentum, eps, saveMean, saveInvStd);
            Apply(Ptr<T>(x), Ptr<T>(y), m, c, Values(Ptr<T>(saveMean), c), scale, Values(Ptr<T>(beta), c), silu, fast, residual is null ? null : Ptr<T>(residual));
        }

        /// Writes the batch's mean and inverse std and updates the running statistics (unbiased
        /// variance) from the mean and Σ(x - mean)² over m rows; returns the scale γσ⁻¹.
        static T[] Keep(double[] mean, double[] sq, long m, int c, Tensor gamma, Tensor runningMean, Tensor runningVar, double momentum, double eps,
            Tensor saveMean, Tensor saveInvStd)
        {
            T* pg = Ptr<T>(gamma), prm = Ptr<T>(runningMean), prv = Ptr<T>(runningVar), pm = Ptr<T>(saveMean), pi = Ptr<T>(saveInvStd);
            var scale = new T[c];
            for (int j = 0; j < c; j++)
            {
                double var = sq[j] / m, inv = 1 / Math.Sqrt(var + eps);
                pm[j] = T.CreateChecked(mean[j]);
                pi[j] = T.CreateChecked(inv);
                prm[j] = T.CreateChecked((1 - momentum) * D(prm[j]) + momentum * mean[j]);
                prv[j] = T.CreateChecked((1 - momentum) * D(prv[j]) + momentum * var * m / (m - 1));
                scale[j] = T.CreateChecked(D(pg[j]) * inv);
            }
            return scale;
        }

        /// Train's statistics without the apply, and the map [2, C]: scale = γσ⁻¹, shift = β - mean·scale.
        public static void Statistics(Tensor batchSums, long m, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
            double momentum, double eps, Tensor saveMean, Tensor saveInvStd, Tensor map)
        {
            int c = gamma.Shape[0];
            var (mean, sq) = FromSums(batchSums, m, c);
            var scale = Keep(mean, sq, m, c, gamma, runningMean, runningVar, momentum, eps, saveMean, saveInvStd);
            T* pb = Ptr<T>(beta), pmap = Ptr<T>(map);
            for (int j = 0; j < c; j++)
            {
                pmap[j] = scale[j];
                pmap[c + j] = T.CreateChecked(D(pb[j]) - mean[j] * D(scale[j]));
            }
        }

        /// y = silu(x·scale + shift) with Statistics' map.
        public static void Map(Tensor x, Tensor map, Tensor y, bool fast)
        {
            int c = x.Shape[3];
            T* pmap = Ptr<T>(map);
            Apply(Ptr<T>(x), Ptr<T>(y), x.Count / c, c, new T[c], Values(pmap, c), Values(pmap + c, c), silu: true, fast);
        }

        public static void Eval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps, Tensor y, bool fast)
        {
            int c = x.Shape[3];
            T* pg = Ptr<T>(gamma), prv = Ptr<T>(runningVar);
            var scale = new T[c];
            for (int j = 0; j < c; j++) scale[j] = T.CreateChecked(D(pg[j]) / Math.Sqrt(D(prv[j]) + eps));
            Apply(Ptr<T>(x), Ptr<T>(y), x.Count / c, c, Values(Ptr<T>(runningMean), c), scale, Values(Ptr<T>(beta), c), silu: false, fast);
        }

        static T[] Values(T* p, int c) => new ReadOnlySpan<T>(p, c).ToArray();

        /// y = (x - mean)·scale + β per channel, then SiLU if asked, then + residual (or null).
        static void Apply(T* x, T* y, long rows, int c, T[] mean, T[] scale, T[] beta, bool silu, bool fast, T* residual = null)
        {
            if (fast)
            {
                var (m, s, b) = ((float[])(object)mean, (float[])(object)scale, (float[])(object)beta);
                if (silu) FastBatchNorm2d.Apply<SiluActivation>((float*)x, (float*)y, rows, c, m, s, b, (float*)residual);
                else FastBatchNorm2d.Apply<NoActivation>((float*)x, (float*)y, rows, c, m, s, b, (float*)residual);
                return;
            }
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < c; j++)
                {
                    T z = (x[r * c + j] - mean[j]) * scale[j] + beta[j];
                    T v = silu ? Silu(z) : z;
                    y[r * c + j] = residual == null ? v : v + residual[r * c + j];
                }
        }

        /// beta is null for plain BatchNorm; given, the op was BatchNorm + SiLU and the gradient
        /// first goes back through SiLU at the recomputed z = x̂·γ + β.
        public static void Backward(Tensor x, Tensor gy, Tensor gamma, Tensor? beta, Tensor saveMean, Tensor saveInvStd,
            Tensor? gx, Tensor? ggamma, Tensor? gbeta, bool fast)
        {
            int c = x.Shape[3];
            long m = x.Count / c;
            T* px = Ptr<T>(x), pgy = Ptr<T>(gy), pg = Ptr<T>(gamma), pm = Ptr<T>(saveMean), pi = Ptr<T>(saveInvStd);
            var mean = Values(pm, c);
            var scale = new T[c];
            for (int j = 0; j < c; j++) scale[j] = T.CreateChecked(D(pg[j]) * D(pi[j]));
            bool silu = beta is not null;
            var b = silu ? Values(Ptr<T>(beta!), c) : new T[c];
            // With g the gradient reaching the affine map: gβ = Σ g; gγ = Σ g·x̂ with x̂ = (x - μ)·σ⁻¹.
            // The fast tier leaves g in gx's buffer (when there is one) for the input gradient pass.
            T* g = fast && silu && gx is not null ? Ptr<T>(gx) : pgy;
            var (sumG, sumGXc) = GradientSums(px, pgy, g == pgy ? null : g, m, c, mean, scale, b, silu, fast);
            if (gbeta is not null) { T* p = Ptr<T>(gbeta); for (int j = 0; j < c; j++) p[j] = T.CreateChecked(sumG[j]); }
            if (ggamma is not null) { T* p = Ptr<T>(ggamma); for (int j = 0; j < c; j++) p[j] = T.CreateChecked(sumGXc[j] * D(pi[j])); }
            if (gx is null) return;
            // gx = γσ⁻¹·(g - gβ/M - (x - μ)·σ⁻²·Σg(x - μ)/M)
            var m1 = new T[c];
            var m2 = new T[c];
            for (int j = 0; j < c; j++)
            {
                m1[j] = T.CreateChecked(sumG[j] / m);
                m2[j] = T.CreateChecked(D(pi[j]) * D(pi[j]) * sumGXc[j] / m);
            }
            InputGradient(px, pgy, g, Ptr<T>(gx), m, c, mean, scale, b, m1, m2, silu, fast);
        }

        static (double[], double[]) GradientSums(T* x, T* gy, T* gOut, long rows, int c, T[] mean, T[] scale, T[] beta, bool silu, bool fast)
        {
            if (fast)
            {
                var (fm, fs, ft) = ((float[])(object)mean, (float[])(object)scale, (float[])(object)beta);
                return silu ? FastBatchNorm2d.GradientSums<SiluActivation>((float*)x, (float*)gy, (float*)gOut, rows, c, fm, fs, ft)
                    : FastBatchNorm2d.GradientSums<NoActivation>((float*)x, (float*)gy, null, rows, c, fm, fs, ft);
            }
            var s1 = new double[c];
            var s2 = new double[c];
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < c; j++)
                {
                    long o = r * c + j;
                    T xc = x[o] - mean[j];
                    T g = silu ? gy[o] * SiluGrad(xc * scale[j] + beta[j]) : gy[o];
                    s1[j] += D(g);
                    s2[j] += D(g * xc);
                }
            return (s1, s2);
        }

        /// gx = k·(g - m1 - (x - μ)·m2) with k = γσ⁻¹, the affine map's scale. The fast tier reads g,
        /// the gradient at the affine map's output that GradientSums left; the reference recomputes it.
        static void InputGradient(T* x, T* gy, T* g, T* gx, long rows, int c, T[] mean, T[] k, T[] beta, T[] m1, T[] m2, bool silu, bool fast)
        {
            if (fast)
            {
                FastBatchNorm2d.InputGradient((float*)x, (float*)g, (float*)gx, rows, c, (float[])(object)mean, (float[])(object)k,
                    (float[])(object)m1, (float[])(object)m2);
                return;
            }
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < c; j++)
                {
                    long o = r * c + j;
                    T xc = x[o] - mean[j];
                    T ga = silu ? gy[o] * SiluGrad(xc * k[j] + beta[j]) : gy[o];
                    gx[o] = k[j] * (ga - m1[j] - xc * m2[j]);
                }
        }
    }
}
