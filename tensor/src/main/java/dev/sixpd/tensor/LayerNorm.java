package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * LayerNorm over the last dimension, GPT-2 style (eps = 1e-5, biased variance).
 *
 * <p>{@code out[n,:] = (inp[n,:] - mean[n]) · rstd[n] · weight + bias} with {@code rstd = 1/sqrt(var + eps)}.
 * Shapes: {@code inp, out [N, C]}, {@code weight, bias [C]}, {@code mean, rstd [N]} (saved for backward).
 * Ledger kind {@link Ledger.Kind#NORM}. Thread-safe except for the {@link Ledger} accounting.
 */
public final class LayerNorm {
    /** The epsilon added to the variance, as in GPT-2. */
    public static final float EPS = 1e-5f;
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    /** Minimum elements per task before fanning out to threads. */
    private static final int GRAIN_ELEMS = 1 << 14;

    private LayerNorm() {
    }

    /**
     * FLOPs of one forward call, {@code N·(8C + 5)}: per row, mean (C adds + 1 div), variance (C subs + C
     * multiply-adds + 1 div), rstd (add eps, sqrt, div), output (sub, mul, multiply-add = 4 per element).
     */
    public static long flopsForward(int N, int C) {
        return (long) N * (8L * C + 5);
    }

    /**
     * FLOPs of one backward call, {@code N·(17C + 2)}: per row, a first pass recomputing {@code norm} (sub, mul)
     * and {@code dnorm = weight·dout} (mul) and summing {@code dnorm} (add) and {@code dnorm·norm} (multiply-add),
     * i.e. 6 per element, two means (2 divs); a second pass recomputing norm and dnorm (3), {@code dbias +=} (1),
     * {@code dweight += norm·dout} (2), {@code dinp += rstd·(dnorm - mean1 - norm·mean2)} (sub, multiply-add, mul,
     * add = 5), i.e. 11 per element.
     */
    public static long flopsBackward(int N, int C) {
        return (long) N * (17L * C + 2);
    }

    private static void check(String what, int N, int C, float[] a, float[] b, float[] weight, float[] mean, float[] rstd) {
        if (N < 0 || C < 0) {
            throw new IllegalArgumentException("LayerNorm." + what + ": negative size N=" + N + " C=" + C);
        }
        long nc = (long) N * C;
        if (a.length < nc || b.length < nc || weight.length < C || mean.length < N || rstd.length < N) {
            throw new IllegalArgumentException("LayerNorm." + what + ": arrays too small for [N=" + N + ", C=" + C
                    + "]: activations " + a.length + " and " + b.length + " (need " + nc + "), weight " + weight.length
                    + " (need " + C + "), mean " + mean.length + " and rstd " + rstd.length + " (need " + N + ")");
        }
    }

    /** Vector API forward, threads over rows. Overwrites {@code out}, {@code mean}, {@code rstd}. */
    public static void forward(float[] out, float[] mean, float[] rstd, float[] inp, float[] weight, float[] bias,
            int N, int C) {
        check("forward", N, C, out, inp, weight, mean, rstd);
        Ledger.add(Ledger.Kind.NORM, flopsForward(N, C), 4L * (2L * N * C + 2L * C + 2L * N));
        if (C == 0) {
            return;
        }
        int grain = Math.max(1, GRAIN_ELEMS / C);
        Parallel.forRange(N, grain, (from, to) -> {
            for (int n = from; n < to; n++) {
                forwardRow(out, mean, rstd, inp, weight, bias, n, C);
            }
        });
    }

    private static void forwardRow(float[] out, float[] mean, float[] rstd, float[] inp, float[] weight,
            float[] bias, int n, int C) {
        int x = n * C;
        int up = S.loopBound(C);
        // mean = sum(x) / C
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < up; i += S.length()) {
            acc = acc.add(FloatVector.fromArray(S, inp, x + i));
        }
        float s = Vectors.sum(acc);
        for (; i < C; i++) {
            s += inp[x + i];
        }
        finishRow(out, mean, rstd, inp, weight, bias, n, C, s);
    }

    /** The row after its sum {@code s}: mean, variance, rstd, the normalised output. */
    private static void finishRow(float[] out, float[] mean, float[] rstd, float[] inp, float[] weight,
            float[] bias, int n, int C, float s) {
        int x = n * C;
        int up = S.loopBound(C);
        float m = s / C;
        // var = sum((x - m)^2) / C
        FloatVector vm = FloatVector.broadcast(S, m);
        FloatVector accv = FloatVector.zero(S);
        int i = 0;
        for (; i < up; i += S.length()) {
            FloatVector d = FloatVector.fromArray(S, inp, x + i).sub(vm);
            accv = d.fma(d, accv);
        }
        float v = Vectors.sum(accv);
        for (; i < C; i++) {
            float d = inp[x + i] - m;
            v += d * d;
        }
        float rs = 1.0f / (float) Math.sqrt(v / C + EPS);
        // out = (x - m) * rs * w + b
        FloatVector vrs = FloatVector.broadcast(S, rs);
        i = 0;
        for (; i < up; i += S.length()) {
            FloatVector norm = FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vrs);
            norm.fma(FloatVector.fromArray(S, weight, i), FloatVector.fromArray(S, bias, i)).intoArray(out, x + i);
        }
        for (; i < C; i++) {
            out[x + i] = (inp[x + i] - m) * rs * weight[i] + bias[i];
        }
        mean[n] = m;
        rstd[n] = rs;
    }

    /**
     * The residual add and the LayerNorm after it, one pass over each row (a transformer block's
     * {@code res = x + attn; out = norm(res)}): {@code res[n,:] += x[n,:]}, then {@link #forward} of {@code res}.
     * The row's sum is taken while it is written, and the variance and output passes read it from L1, so res is
     * read once from memory instead of twice and x once: 16 bytes per element instead of 20. Same bits as
     * {@link Elementwise#accumulate} followed by {@link #forward} (the same adds in the same order). Ledger: the
     * add's FLOPs as {@link Ledger.Kind#ELEMENTWISE} and the norm's as {@link Ledger.Kind#NORM}, as unfused.
     */
    public static void forwardResidual(float[] out, float[] mean, float[] rstd, float[] res, float[] x,
            float[] weight, float[] bias, int N, int C) {
        checkResidual("forwardResidual", N, C, out, mean, rstd, res, x, weight, bias);
        chargeResidual(N, C);
        if (C == 0) {
            return;
        }
        int grain = Math.max(1, GRAIN_ELEMS / C);
        Parallel.forRange(N, grain, (from, to) -> {
            int up = S.loopBound(C);
            for (int n = from; n < to; n++) {
                int o = n * C;
                // res += x, summing the new row as it is written
                FloatVector acc = FloatVector.zero(S);
                int i = 0;
                for (; i < up; i += S.length()) {
                    FloatVector r = FloatVector.fromArray(S, res, o + i).add(FloatVector.fromArray(S, x, o + i));
                    r.intoArray(res, o + i);
                    acc = acc.add(r);
                }
                float s = Vectors.sum(acc);
                for (; i < C; i++) {
                    float r = res[o + i] + x[o + i];
                    res[o + i] = r;
                    s += r;
                }
                finishRow(out, mean, rstd, res, weight, bias, n, C, s);
            }
        });
    }

    /** Scalar twin of {@link #forwardResidual}. */
    public static void forwardResidualScalar(float[] out, float[] mean, float[] rstd, float[] res, float[] x,
            float[] weight, float[] bias, int N, int C) {
        checkResidual("forwardResidualScalar", N, C, out, mean, rstd, res, x, weight, bias);
        chargeResidual(N, C);
        for (int n = 0; n < N; n++) {
            // res += x, then the row's LayerNorm
            for (int i = n * C; i < (n + 1) * C; i++) {
                res[i] += x[i];
            }
            forwardRowScalar(out, mean, rstd, res, weight, bias, n, C);
        }
    }

    private static void checkResidual(String what, int N, int C, float[] out, float[] mean, float[] rstd,
            float[] res, float[] x, float[] weight, float[] bias) {
        check(what, N, C, out, res, weight, mean, rstd);
        if (x.length < (long) N * C || bias.length < C) {
            throw new IllegalArgumentException("LayerNorm." + what + ": arrays too small for [N=" + N + ", C=" + C
                    + "]: residual x " + x.length + " (need " + (long) N * C + "), bias " + bias.length + " (need "
                    + C + ")");
        }
    }

    /** The unfused kernels' FLOPs; bytes: res and x read, res written (the add), out written, stats, params. */
    private static void chargeResidual(int N, int C) {
        Ledger.add(Ledger.Kind.ELEMENTWISE, (long) N * C, 12L * N * C);
        Ledger.add(Ledger.Kind.NORM, flopsForward(N, C), 4L * (1L * N * C + 2L * C + 2L * N));
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, float[] mean, float[] rstd, float[] inp, float[] weight,
            float[] bias, int N, int C) {
        check("forwardScalar", N, C, out, inp, weight, mean, rstd);
        Ledger.add(Ledger.Kind.NORM, flopsForward(N, C), 4L * (2L * N * C + 2L * C + 2L * N));
        if (C == 0) {
            return;
        }
        for (int n = 0; n < N; n++) {
            forwardRowScalar(out, mean, rstd, inp, weight, bias, n, C);
        }
    }

    private static void forwardRowScalar(float[] out, float[] mean, float[] rstd, float[] inp, float[] weight,
            float[] bias, int n, int C) {
        int x = n * C;
        // mean
        float s = 0f;
        for (int i = 0; i < C; i++) {
            s += inp[x + i];
        }
        float m = s / C;
        // biased variance
        float v = 0f;
        for (int i = 0; i < C; i++) {
            float d = inp[x + i] - m;
            v += d * d;
        }
        float rs = 1.0f / (float) Math.sqrt(v / C + EPS);
        // normalise, scale, shift
        for (int i = 0; i < C; i++) {
            out[x + i] = (inp[x + i] - m) * rs * weight[i] + bias[i];
        }
        mean[n] = m;
        rstd[n] = rs;
    }

    /**
     * Backward. ACCUMULATES into {@code dinp [N, C]}, {@code dweight [C]}, {@code dbias [C]}:
     * <pre>
     *   norm = (inp - mean)·rstd,  dnorm = weight·dout
     *   dbias   += Σ_n dout
     *   dweight += Σ_n norm·dout
     *   dinp    += rstd·(dnorm - mean_c(dnorm) - norm·mean_c(dnorm·norm))
     * </pre>
     * {@code dinp} is computed in tasks over rows; {@code dweight}/{@code dbias} in tasks over channel slices that
     * walk all rows in order, so results do not depend on the thread count.
     */
    public static void backward(float[] dinp, float[] dweight, float[] dbias, float[] dout, float[] inp,
            float[] weight, float[] mean, float[] rstd, int N, int C) {
        check("backward", N, C, dinp, dout, weight, mean, rstd);
        check("backward", N, C, inp, inp, dweight, mean, rstd);
        check("backward", N, C, inp, inp, dbias, mean, rstd);
        Ledger.add(Ledger.Kind.NORM, flopsBackward(N, C), 4L * (3L * N * C + 4L * C + 2L * N));
        if (C == 0 || N == 0) {
            return;
        }
        int grain = Math.max(1, GRAIN_ELEMS / C);
        Parallel.forRange(N, grain, (from, to) -> {
            for (int n = from; n < to; n++) {
                backwardRow(dinp, dout, inp, weight, mean[n], rstd[n], n, C);
            }
        });
        int lanes = S.length();
        int chunks = (C + lanes - 1) / lanes;
        int cgrain = (long) N * C < GRAIN_ELEMS ? chunks : 1;
        Parallel.forRange(chunks, cgrain, (from, to) -> paramGrads(dweight, dbias, dout, inp, mean, rstd, N, C,
                from * lanes, Math.min(C, to * lanes)));
    }

    private static void backwardRow(float[] dinp, float[] dout, float[] inp, float[] weight, float m, float rs,
            int n, int C) {
        int x = n * C;
        int up = S.loopBound(C);
        FloatVector vm = FloatVector.broadcast(S, m);
        FloatVector vrs = FloatVector.broadcast(S, rs);
        // first pass: sums of dnorm and dnorm*norm
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        int i = 0;
        for (; i < up; i += S.length()) {
            FloatVector norm = FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vrs);
            FloatVector dnorm = FloatVector.fromArray(S, weight, i).mul(FloatVector.fromArray(S, dout, x + i));
            a1 = a1.add(dnorm);
            a2 = dnorm.fma(norm, a2);
        }
        float s1 = Vectors.sum(a1);
        float s2 = Vectors.sum(a2);
        for (; i < C; i++) {
            float norm = (inp[x + i] - m) * rs;
            float dnorm = weight[i] * dout[x + i];
            s1 += dnorm;
            s2 += dnorm * norm;
        }
        float m1 = s1 / C;
        float m2 = s2 / C;
        // second pass: dinp += rstd * (dnorm - m1 - norm*m2)
        FloatVector vm1 = FloatVector.broadcast(S, m1);
        FloatVector vm2n = FloatVector.broadcast(S, -m2);
        i = 0;
        for (; i < up; i += S.length()) {
            FloatVector norm = FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vrs);
            FloatVector dnorm = FloatVector.fromArray(S, weight, i).mul(FloatVector.fromArray(S, dout, x + i));
            FloatVector d = norm.fma(vm2n, dnorm.sub(vm1)).mul(vrs);
            FloatVector.fromArray(S, dinp, x + i).add(d).intoArray(dinp, x + i);
        }
        for (; i < C; i++) {
            float norm = (inp[x + i] - m) * rs;
            float dnorm = weight[i] * dout[x + i];
            dinp[x + i] += (dnorm - m1 - norm * m2) * rs;
        }
    }

    /** dweight[c0:c1] += Σ_n norm·dout, dbias[c0:c1] += Σ_n dout, rows in order. */
    private static void paramGrads(float[] dweight, float[] dbias, float[] dout, float[] inp, float[] mean,
            float[] rstd, int N, int C, int c0, int c1) {
        for (int n = 0; n < N; n++) {
            int x = n * C;
            float m = mean[n];
            float rs = rstd[n];
            FloatVector vm = FloatVector.broadcast(S, m);
            FloatVector vrs = FloatVector.broadcast(S, rs);
            int c = c0;
            for (int up = c0 + S.loopBound(c1 - c0); c < up; c += S.length()) {
                FloatVector g = FloatVector.fromArray(S, dout, x + c);
                FloatVector norm = FloatVector.fromArray(S, inp, x + c).sub(vm).mul(vrs);
                FloatVector.fromArray(S, dbias, c).add(g).intoArray(dbias, c);
                norm.fma(g, FloatVector.fromArray(S, dweight, c)).intoArray(dweight, c);
            }
            for (; c < c1; c++) {
                float norm = (inp[x + c] - m) * rs;
                dbias[c] += dout[x + c];
                dweight[c] += norm * dout[x + c];
            }
        }
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dinp, float[] dweight, float[] dbias, float[] dout, float[] inp,
            float[] weight, float[] mean, float[] rstd, int N, int C) {
        check("backwardScalar", N, C, dinp, dout, weight, mean, rstd);
        check("backwardScalar", N, C, inp, inp, dweight, mean, rstd);
        check("backwardScalar", N, C, inp, inp, dbias, mean, rstd);
        Ledger.add(Ledger.Kind.NORM, flopsBackward(N, C), 4L * (3L * N * C + 4L * C + 2L * N));
        for (int n = 0; n < N; n++) {
            int x = n * C;
            float m = mean[n];
            float rs = rstd[n];
            // the two reductions
            float s1 = 0f;
            float s2 = 0f;
            for (int i = 0; i < C; i++) {
                float norm = (inp[x + i] - m) * rs;
                float dnorm = weight[i] * dout[x + i];
                s1 += dnorm;
                s2 += dnorm * norm;
            }
            float m1 = s1 / C;
            float m2 = s2 / C;
            // accumulate the three gradients
            for (int i = 0; i < C; i++) {
                float norm = (inp[x + i] - m) * rs;
                float dnorm = weight[i] * dout[x + i];
                dbias[i] += dout[x + i];
                dweight[i] += norm * dout[x + i];
                dinp[x + i] += (dnorm - m1 - norm * m2) * rs;
            }
        }
    }
}
