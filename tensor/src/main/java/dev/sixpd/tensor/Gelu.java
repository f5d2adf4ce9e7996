package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GELU, tanh form (GPT-2): {@code gelu(x) = 0.5·x·(1 + tanh(k·x·(1 + 0.044715·x²)))} with {@code k = sqrt(2/π)}.
 *
 * <p>Elementwise on flat arrays of length {@code n}. Ledger kind {@link Ledger.Kind#ELEMENTWISE}. Thread-safe
 * except for the {@link Ledger} accounting.
 */
public final class Gelu {
    private static final float K = (float) Math.sqrt(2.0 / Math.PI);
    private static final float C3 = 0.044715f;
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int GRAIN = 1 << 14;

    private Gelu() {
    }

    /**
     * FLOPs of one forward call, {@code 9n}: x² (1), 1 + c·x² (2), ·x (1), ·k (1), tanh (1), 0.5·x (1),
     * 1 + t (1), product (1).
     */
    public static long flopsForward(long n) {
        return 9L * n;
    }

    /**
     * FLOPs of one backward call, {@code 18n}: the tanh argument (5) and tanh (1); 1 - t² (2); 1 + 3c·x² (2);
     * k·poly (1), 0.5·x (1), the product of the three (2); 0.5·(1 + t) (2); their sum (1); dinp += local·dout (2).
     * The local derivative is
     * {@code 0.5·(1 + t) + 0.5·x·(1 - t²)·k·(1 + 3c·x²)}.
     */
    public static long flopsBackward(long n) {
        return 18L * n;
    }

    private static void check(String what, int n, float[] a, float[] b) {
        if (n < 0 || a.length < n || b.length < n) {
            throw new IllegalArgumentException("Gelu." + what + ": n=" + n + " but arrays have lengths "
                    + a.length + " and " + b.length);
        }
    }

    /** {@code out[i] = gelu(inp[i])} for {@code i < n}; Vector API, threads over chunks. */
    public static void forward(float[] out, float[] inp, int n) {
        check("forward", n, out, inp);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsForward(n), 8L * n);
        Parallel.forRange(n, GRAIN, (from, to) -> forwardRange(out, inp, from, to));
    }

    private static void forwardRange(float[] out, float[] inp, int from, int to) {
        int i = from;
        for (int up = from + S.loopBound(to - from); i < up; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, inp, i);
            FloatVector inner = x.mul(x).fma(C3, 1f).mul(x).mul(K);
            FloatVector t = inner.lanewise(VectorOperators.TANH);
            x.mul(0.5f).mul(t.add(1f)).intoArray(out, i);
        }
        for (; i < to; i++) {
            out[i] = geluScalar(inp[i]);
        }
    }

    private static float geluScalar(float x) {
        float inner = (x * x * C3 + 1f) * x * K;
        float t = (float) Math.tanh(inner);
        return x * 0.5f * (t + 1f);
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, float[] inp, int n) {
        check("forwardScalar", n, out, inp);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsForward(n), 8L * n);
        for (int i = 0; i < n; i++) {
            out[i] = geluScalar(inp[i]);
        }
    }

    /** ACCUMULATES {@code dinp[i] += gelu'(inp[i])·dout[i]}; Vector API, threads over chunks. */
    public static void backward(float[] dinp, float[] inp, float[] dout, int n) {
        check("backward", n, dinp, inp);
        check("backward", n, dout, inp);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(n), 16L * n);
        Parallel.forRange(n, GRAIN, (from, to) -> backwardRange(dinp, inp, dout, from, to));
    }

    private static void backwardRange(float[] dinp, float[] inp, float[] dout, int from, int to) {
        int i = from;
        for (int up = from + S.loopBound(to - from); i < up; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, inp, i);
            FloatVector x2 = x.mul(x);
            FloatVector t = x2.fma(C3, 1f).mul(x).mul(K).lanewise(VectorOperators.TANH);
            // sech² = 1 - t²
            FloatVector sech2 = t.neg().fma(t, FloatVector.broadcast(S, 1f));
            FloatVector kpoly = x2.fma(3f * C3, 1f).mul(K);
            FloatVector local = x.mul(0.5f).mul(sech2).fma(kpoly, t.add(1f).mul(0.5f));
            local.fma(FloatVector.fromArray(S, dout, i), FloatVector.fromArray(S, dinp, i)).intoArray(dinp, i);
        }
        for (; i < to; i++) {
            dinp[i] += localGrad(inp[i]) * dout[i];
        }
    }

    private static float localGrad(float x) {
        float x2 = x * x;
        float t = (float) Math.tanh((x2 * C3 + 1f) * x * K);
        float sech2 = 1f - t * t;
        float kpoly = (x2 * (3f * C3) + 1f) * K;
        return x * 0.5f * sech2 * kpoly + (t + 1f) * 0.5f;
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dinp, float[] inp, float[] dout, int n) {
        check("backwardScalar", n, dinp, inp);
        check("backwardScalar", n, dout, inp);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(n), 16L * n);
        for (int i = 0; i < n; i++) {
            dinp[i] += localGrad(inp[i]) * dout[i];
        }
    }
}
