package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SwiGLU gate of a LLaMA MLP: {@code out = silu(gate) ⊙ up}, {@code silu(g) = g·σ(g)},
 * {@code σ(g) = 1/(1 + exp(-g))}.
 *
 * <p>Computed as {@code silu(g) = g / (1 + exp(-g))}: one exp ({@link Vectors#exp}, an fma polynomial) and one
 * division. For large |g|, exp overflows to +inf or underflows to 0 and silu goes to its limits (-0 or g). The
 * scalar twins do the same operations in the same order as the vector loops (and the vector loops' scalar tails
 * are those same scalar functions), so vector and scalar give the same bits.
 *
 * <p>Elementwise on flat arrays of length {@code n} (in a LLaMA MLP, {@code gate} and {@code up} are the two
 * {@code [B, T, hidden]} projections). Ledger kind {@link Ledger.Kind#ELEMENTWISE}. Threads over chunks; each
 * element is computed by one task, so results are the same for any thread count. Thread-safe except for the
 * {@link Ledger} accounting.
 */
public final class SwiGlu {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int GRAIN = 1 << 14;

    private SwiGlu() {
    }

    /** FLOPs of one forward call, {@code 5n}: -g (1), exp (1), 1 + e (1), g / (1 + e) (1), ·up (1). */
    public static long flopsForward(long n) {
        return 5L * n;
    }

    /**
     * FLOPs of one backward call, {@code 13n}. With {@code s = σ(g) = 1/(1 + exp(-g))}: -g, exp, 1 + e, 1/(1 + e)
     * (4); {@code g·s} (1); {@code 1 - s} (1); {@code local = g·s·(1 - s) + s} (multiply-add, 2); {@code dout·up}
     * (1); {@code dgate += dout·up·local} (2); {@code dup += dout·g·s} (2).
     */
    public static long flopsBackward(long n) {
        return 13L * n;
    }

    private static void check(String what, int n, float[] a, float[] b, float[] c) {
        if (n < 0 || a.length < n || b.length < n || c.length < n) {
            throw new IllegalArgumentException("SwiGlu." + what + ": n=" + n + " but arrays have lengths "
                    + a.length + ", " + b.length + " and " + c.length + " (need n >= 0 and every length >= n)");
        }
    }

    /** {@code out[i] = silu(gate[i])·up[i]} for {@code i < n}, overwriting {@code out}; Vector API, threads. */
    public static void forward(float[] out, float[] gate, float[] up, int n) {
        check("forward", n, out, gate, up);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsForward(n), 12L * n);
        Parallel.forRange(n, GRAIN, (from, to) -> forwardRange(out, gate, up, from, to));
    }

    private static void forwardRange(float[] out, float[] gate, float[] up, int from, int to) {
        int i = from;
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            // silu = g / (1 + exp(-g)); out = silu · up
            FloatVector e = Vectors.exp(g.neg());
            g.div(e.add(one)).mul(FloatVector.fromArray(S, up, i)).intoArray(out, i);
        }
        for (; i < to; i++) {
            out[i] = silu(gate[i]) * up[i];
        }
    }

    private static float silu(float g) {
        return g / (Vectors.exp(-g) + 1f);
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, float[] gate, float[] up, int n) {
        check("forwardScalar", n, out, gate, up);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsForward(n), 12L * n);
        for (int i = 0; i < n; i++) {
            out[i] = silu(gate[i]) * up[i];
        }
    }

    /**
     * Backward. ACCUMULATES into {@code dgate} and {@code dup} (length n):
     * <pre>
     *   s = σ(g)
     *   dgate += dout·up·s·(1 + g·(1 - s))      (computed as dout·up·(g·s·(1 - s) + s))
     *   dup   += dout·g·s
     * </pre>
     * Vector API, threads over chunks.
     */
    public static void backward(float[] dgate, float[] dup, float[] gate, float[] up, float[] dout, int n) {
        check("backward", n, dgate, dup, gate);
        check("backward", n, up, dout, gate);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(n), 28L * n);
        Parallel.forRange(n, GRAIN, (from, to) -> backwardRange(dgate, dup, gate, up, dout, from, to));
    }

    private static void backwardRange(float[] dgate, float[] dup, float[] gate, float[] up, float[] dout,
            int from, int to) {
        int i = from;
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            FloatVector go = FloatVector.fromArray(S, dout, i);
            // s = σ(g), gs = silu(g)
            FloatVector s = one.div(Vectors.exp(g.neg()).add(one));
            FloatVector gs = g.mul(s);
            // local = σ'(g)·g + σ(g) = gs·(1 - s) + s
            FloatVector local = gs.fma(one.sub(s), s);
            FloatVector gu = go.mul(FloatVector.fromArray(S, up, i));
            gu.fma(local, FloatVector.fromArray(S, dgate, i)).intoArray(dgate, i);
            go.fma(gs, FloatVector.fromArray(S, dup, i)).intoArray(dup, i);
        }
        for (; i < to; i++) {
            backwardOne(dgate, dup, gate, up, dout, i);
        }
    }

    private static void backwardOne(float[] dgate, float[] dup, float[] gate, float[] up, float[] dout, int i) {
        float g = gate[i];
        float go = dout[i];
        float s = 1f / (Vectors.exp(-g) + 1f);
        float gs = g * s;
        float local = Math.fma(gs, 1f - s, s);
        dgate[i] = Math.fma(go * up[i], local, dgate[i]);
        dup[i] = Math.fma(go, gs, dup[i]);
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dgate, float[] dup, float[] gate, float[] up, float[] dout, int n) {
        check("backwardScalar", n, dgate, dup, gate);
        check("backwardScalar", n, up, dout, gate);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(n), 28L * n);
        for (int i = 0; i < n; i++) {
            backwardOne(dgate, dup, gate, up, dout, i);
        }
    }
}
