package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * RMSNorm over the last dimension, LLaMA style: no mean subtraction, no bias.
 *
 * <p>{@code out[n,:] = inp[n,:] · rstd[n] · weight} with {@code rstd[n] = 1/sqrt(mean_c(inp[n,c]²) + eps)}.
 * Shapes: {@code inp, out [N, C]}, {@code weight [C]}, {@code rstd [N]} (saved for backward). Ledger kind
 * {@link Ledger.Kind#NORM}. Thread-safe except for the {@link Ledger} accounting.
 */
public final class RmsNorm {
    /** The epsilon added to the mean square (LLaMA's {@code rms_norm_eps} is 1e-5 or 1e-6; pass another if needed). */
    public static final float EPS = 1e-5f;
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    /** Minimum elements per task before fanning out to threads. */
    private static final int GRAIN_ELEMS = 1 << 14;

    private RmsNorm() {
    }

    /**
     * FLOPs of one forward call, {@code N·(4C + 4)}: per row, the sum of squares (C multiply-adds = 2C), the mean
     * (1 div), rstd (add eps, sqrt, div: 3), the output {@code x·rstd·w} (2 muls per element).
     */
    public static long flopsForward(int N, int C) {
        return (long) N * (4L * C + 4);
    }

    /**
     * FLOPs of one backward call, {@code N·(13C + 1)}: per row, a first pass recomputing {@code norm = x·rstd} (mul)
     * and {@code dnorm = weight·dout} (mul) and summing {@code dnorm·norm} (multiply-add), i.e. 4 per element, and
     * its mean (1 div); a second pass recomputing norm and dnorm (2) and {@code dinp += rstd·(dnorm - norm·m)}
     * (multiply-add, mul, add = 4); the weight pass recomputing norm (1) and {@code dweight += norm·dout}
     * (multiply-add = 2). 4 + 6 + 3 = 13 per element.
     */
    public static long flopsBackward(int N, int C) {
        return (long) N * (13L * C + 1);
    }

    private static long bytesForward(int N, int C) {
        // read inp, write out, read weight, write rstd
        return 4L * (2L * N * C + C + N);
    }

    private static long bytesBackward(int N, int C) {
        // read dout, inp, read and write dinp; read weight, read and write dweight; read rstd
        return 4L * (4L * N * C + 3L * C + N);
    }

    private static void check(String what, int N, int C, float eps, float[] a, float[] b, float[] weight,
            float[] rstd) {
        if (N < 0 || C < 0) {
            throw new IllegalArgumentException("RmsNorm." + what + ": negative size N=" + N + " C=" + C);
        }
        if (!(eps >= 0f)) {
            throw new IllegalArgumentException("RmsNorm." + what + ": eps must be >= 0, got " + eps);
        }
        long nc = (long) N * C;
        if (a.length < nc || b.length < nc || weight.length < C || rstd.length < N) {
            throw new IllegalArgumentException("RmsNorm." + what + ": arrays too small for [N=" + N + ", C=" + C
                    + "]: activations " + a.length + " and " + b.length + " (need " + nc + "), weight "
                    + weight.length + " (need " + C + "), rstd " + rstd.length + " (need " + N + ")");
        }
    }

    /**
     * Vector API forward, threads over rows. Overwrites {@code out [N, C]} and {@code rstd [N]}; {@code eps} is
     * usually {@link #EPS}.
     */
    public static void forward(float[] out, float[] rstd, float[] inp, float[] weight, int N, int C, float eps) {
        check("forward", N, C, eps, out, inp, weight, rstd);
        Ledger.add(Ledger.Kind.NORM, flopsForward(N, C), bytesForward(N, C));
        if (C == 0) {
            return;
        }
        int grain = Math.max(1, GRAIN_ELEMS / C);
        Parallel.forRange(N, grain, (from, to) -> {
            for (int n = from; n < to; n++) {
                forwardRow(out, rstd, inp, weight, n, C, eps);
            }
        });
    }

    private static void forwardRow(float[] out, float[] rstd, float[] inp, float[] weight, int n, int C,
            float eps) {
        int x = n * C;
        int up = S.loopBound(C);
        // ms = sum(x²) / C
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < up; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, inp, x + i);
            acc = v.fma(v, acc);
        }
        float ss = Vectors.sum(acc);
        for (; i < C; i++) {
            ss += inp[x + i] * inp[x + i];
        }
        float rs = 1.0f / (float) Math.sqrt(ss / C + eps);
        // out = x · rs · w
        FloatVector vrs = FloatVector.broadcast(S, rs);
        i = 0;
        for (; i < up; i += S.length()) {
            FloatVector.fromArray(S, inp, x + i).mul(vrs).mul(FloatVector.fromArray(S, weight, i))
                    .intoArray(out, x + i);
        }
        for (; i < C; i++) {
            out[x + i] = inp[x + i] * rs * weight[i];
        }
        rstd[n] = rs;
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, float[] rstd, float[] inp, float[] weight, int N, int C,
            float eps) {
        check("forwardScalar", N, C, eps, out, inp, weight, rstd);
        Ledger.add(Ledger.Kind.NORM, flopsForward(N, C), bytesForward(N, C));
        if (C == 0) {
            return;
        }
        for (int n = 0; n < N; n++) {
            int x = n * C;
            // mean square
            float ss = 0f;
            for (int i = 0; i < C; i++) {
                ss += inp[x + i] * inp[x + i];
            }
            float rs = 1.0f / (float) Math.sqrt(ss / C + eps);
            // normalise and scale
            for (int i = 0; i < C; i++) {
                out[x + i] = inp[x + i] * rs * weight[i];
            }
            rstd[n] = rs;
        }
    }

    /**
     * Backward. ACCUMULATES into {@code dinp [N, C]} and {@code dweight [C]}:
     * <pre>
     *   norm = inp·rstd,  dnorm = weight·dout
     *   dweight += Σ_n norm·dout
     *   dinp    += rstd·(dnorm - norm·mean_c(dnorm·norm))
     * </pre>
     * {@code rstd} must be the values saved by {@link #forward} (the eps is folded into it). {@code dinp} is
     * computed in tasks over rows; {@code dweight} in tasks over channel slices that walk all rows in order, so
     * results do not depend on the thread count.
     */
    public static void backward(float[] dinp, float[] dweight, float[] dout, float[] inp, float[] weight,
            float[] rstd, int N, int C) {
        check("backward", N, C, 0f, dinp, dout, weight, rstd);
        check("backward", N, C, 0f, inp, inp, dweight, rstd);
        Ledger.add(Ledger.Kind.NORM, flopsBackward(N, C), bytesBackward(N, C));
        if (C == 0 || N == 0) {
            return;
        }
        int grain = Math.max(1, GRAIN_ELEMS / C);
        Parallel.forRange(N, grain, (from, to) -> {
            for (int n = from; n < to; n++) {
                backwardRow(dinp, dout, inp, weight, rstd[n], n, C);
            }
        });
        int lanes = S.length();
        int chunks = (C + lanes - 1) / lanes;
        int cgrain = (long) N * C < GRAIN_ELEMS ? chunks : 1;
        Parallel.forRange(chunks, cgrain, (from, to) -> weightGrad(dweight, dout, inp, rstd, N, C,
                from * lanes, Math.min(C, to * lanes)));
    }

    private static void backwardRow(float[] dinp, float[] dout, float[] inp, float[] weight, float rs, int n,
            int C) {
        int x = n * C;
        int up = S.loopBound(C);
        FloatVector vrs = FloatVector.broadcast(S, rs);
        // first pass: sum of dnorm·norm
        FloatVector a2 = FloatVector.zero(S);
        int i = 0;
        for (; i < up; i += S.length()) {
            FloatVector norm = FloatVector.fromArray(S, inp, x + i).mul(vrs);
            FloatVector dnorm = FloatVector.fromArray(S, weight, i).mul(FloatVector.fromArray(S, dout, x + i));
            a2 = dnorm.fma(norm, a2);
        }
        float s2 = Vectors.sum(a2);
        for (; i < C; i++) {
            float norm = inp[x + i] * rs;
            float dnorm = weight[i] * dout[x + i];
            s2 += dnorm * norm;
        }
        float m2 = s2 / C;
        // second pass: dinp += rstd·(dnorm - norm·m2)
        FloatVector vm2n = FloatVector.broadcast(S, -m2);
        i = 0;
        for (; i < up; i += S.length()) {
            FloatVector norm = FloatVector.fromArray(S, inp, x + i).mul(vrs);
            FloatVector dnorm = FloatVector.fromArray(S, weight, i).mul(FloatVector.fromArray(S, dout, x + i));
            FloatVector d = norm.fma(vm2n, dnorm).mul(vrs);
            FloatVector.fromArray(S, dinp, x + i).add(d).intoArray(dinp, x + i);
        }
        for (; i < C; i++) {
            float norm = inp[x + i] * rs;
            float dnorm = weight[i] * dout[x + i];
            dinp[x + i] += (dnorm - norm * m2) * rs;
        }
    }

    /** dweight[c0:c1] += Σ_n norm·dout, rows in order. */
    private static void weightGrad(float[] dweight, float[] dout, float[] inp, float[] rstd, int N, int C, int c0,
            int c1) {
        for (int n = 0; n < N; n++) {
            int x = n * C;
            float rs = rstd[n];
            FloatVector vrs = FloatVector.broadcast(S, rs);
            int c = c0;
            for (int up = c0 + S.loopBound(c1 - c0); c < up; c += S.length()) {
                FloatVector norm = FloatVector.fromArray(S, inp, x + c).mul(vrs);
                norm.fma(FloatVector.fromArray(S, dout, x + c), FloatVector.fromArray(S, dweight, c))
                        .intoArray(dweight, c);
            }
            for (; c < c1; c++) {
                dweight[c] += inp[x + c] * rs * dout[x + c];
            }
        }
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dinp, float[] dweight, float[] dout, float[] inp, float[] weight,
            float[] rstd, int N, int C) {
        check("backwardScalar", N, C, 0f, dinp, dout, weight, rstd);
        check("backwardScalar", N, C, 0f, inp, inp, dweight, rstd);
        Ledger.add(Ledger.Kind.NORM, flopsBackward(N, C), bytesBackward(N, C));
        for (int n = 0; n < N; n++) {
            int x = n * C;
            float rs = rstd[n];
            // the one reduction
            float s2 = 0f;
            for (int i = 0; i < C; i++) {
                float norm = inp[x + i] * rs;
                float dnorm = weight[i] * dout[x + i];
                s2 += dnorm * norm;
            }
            float m2 = s2 / C;
            // accumulate both gradients
            for (int i = 0; i < C; i++) {
                float norm = inp[x + i] * rs;
                float dnorm = weight[i] * dout[x + i];
                dweight[i] += norm * dout[x + i];
                dinp[x + i] += (dnorm - norm * m2) * rs;
            }
        }
    }
}
