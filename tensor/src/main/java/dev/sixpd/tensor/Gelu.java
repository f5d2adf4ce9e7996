package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GELU, tanh form (GPT-2): {@code gelu(x) = 0.5·x·(1 + tanh(u))}, {@code u = k·x·(1 + 0.044715·x²)},
 * {@code k = sqrt(2/π)}.
 *
 * <p>Computed through the identity {@code 0.5·(1 + tanh(u)) = sigmoid(2u) = 1/(1 + exp(-2u))}, so
 * {@code gelu(x) = x / (1 + exp(-2u))}: one exp ({@link Vectors#exp}, an fma polynomial) and one division instead
 * of a tanh. For large |u|, exp overflows to +inf or underflows to 0 and the result goes to the right limit (0 or
 * x). The scalar twin does the same operations in the same order, so both give the same bits.
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
     * FLOPs of one forward call, {@code 8n}: x² (1), 1 + c·x² (2), ·x (1), ·(-2k) (1), exp (1), 1 + e (1),
     * x / (1 + e) (1).
     */
    public static long flopsForward(long n) {
        return 8L * n;
    }

    /**
     * FLOPs of one backward call, {@code 17n}. With {@code s = 1/(1 + exp(-2u))} the local derivative is
     * {@code s + x·s·(1 - s)·2k·(1 + 3c·x²)}: the exp argument (5) and exp (1); s (add, div: 2); the polynomial
     * {@code 2k + 6ck·x²} (2); x·s, 1 - s, their product (3); the multiply-add with s (2); dinp += local·dout (2).
     */
    public static long flopsBackward(long n) {
        return 17L * n;
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
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int up = from + S.loopBound(to - from); i < up; i += S.length()) {
            gelu(FloatVector.fromArray(S, inp, i), one).intoArray(out, i);
        }
        for (; i < to; i++) {
            out[i] = geluScalar(inp[i]);
        }
    }

    /** {@code gelu(x)} of a vector, the operations of {@link #geluScalar} ({@link BiasGelu} shares it). */
    static FloatVector gelu(FloatVector x, FloatVector one) {
        // e = exp(-2u), u = k·x·(1 + c·x²);  gelu = x / (1 + e)
        FloatVector e = Vectors.exp(x.mul(x).fma(C3, 1f).mul(x).mul(-2f * K));
        return x.div(e.add(one));
    }

    static float geluScalar(float x) {
        float e = Vectors.exp(Math.fma(x * x, C3, 1f) * x * (-2f * K));
        return x / (e + 1f);
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
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int up = from + S.loopBound(to - from); i < up; i += S.length()) {
            FloatVector local = localGrad(FloatVector.fromArray(S, inp, i), one);
            local.fma(FloatVector.fromArray(S, dout, i), FloatVector.fromArray(S, dinp, i)).intoArray(dinp, i);
        }
        for (; i < to; i++) {
            dinp[i] = Math.fma(localGrad(inp[i]), dout[i], dinp[i]);
        }
    }

    /** {@code gelu'(x)} of a vector, the operations of {@link #localGrad(float)} ({@link BiasGelu} shares it). */
    static FloatVector localGrad(FloatVector x, FloatVector one) {
        FloatVector x2 = x.mul(x);
        // s = sigmoid(2u) = 1 / (1 + exp(-2u))
        FloatVector e = Vectors.exp(x2.fma(C3, 1f).mul(x).mul(-2f * K));
        FloatVector s = one.div(e.add(one));
        // local = s + x·s·(1 - s)·2k·(1 + 3c·x²)
        FloatVector poly = x2.fma(6f * C3 * K, 2f * K);
        return x.mul(s).mul(one.sub(s)).fma(poly, s);
    }

    static float localGrad(float x) {
        float x2 = x * x;
        float e = Vectors.exp(Math.fma(x2, C3, 1f) * x * (-2f * K));
        float s = 1f / (e + 1f);
        float poly = Math.fma(x2, 6f * C3 * K, 2f * K);
        return Math.fma(x * s * (1f - s), poly, s);
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dinp, float[] inp, float[] dout, int n) {
        check("backwardScalar", n, dinp, inp);
        check("backwardScalar", n, dout, inp);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(n), 16L * n);
        for (int i = 0; i < n; i++) {
            dinp[i] = Math.fma(localGrad(inp[i]), dout[i], dinp[i]);
        }
    }
}
