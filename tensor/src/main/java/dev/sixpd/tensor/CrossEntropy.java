package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused softmax + cross-entropy over logits with integer targets.
 *
 * <p>Shapes: {@code logits, probs [N, V]}, {@code targets, losses [N]}. The loss of row n is computed as
 * {@code log Σ_v exp(logits[n,v] - max) + max - logits[n, targets[n]]} (log-sum-exp), so it stays finite for
 * logits of any size, e.g. 1e4, even when the target's probability underflows to zero. Ledger kind
 * {@link Ledger.Kind#LOSS}. Thread-safe except for the {@link Ledger} accounting.
 *
 * <p>Two backwards: {@link #backward} accumulates into a separate {@code dlogits} (after a zero fill, 16 bytes per
 * logit with the fill), {@link #backwardInPlace} turns the saved probabilities into the gradient in the same array
 * (llm.c's fused classifier: 8 bytes per logit, and one {@code [N, V]} buffer instead of two), with the same bits.
 */
public final class CrossEntropy {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int GRAIN_ELEMS = 1 << 14;

    private CrossEntropy() {
    }

    /**
     * FLOPs of one forward call, {@code N·(5V + 5) + 1}: per logit max, subtract, exp, sum, multiply by the
     * reciprocal (5); per row the reciprocal, the log, two adds for the loss, one add into the total (5); one
     * division for the mean.
     */
    public static long flopsForward(int N, int V) {
        return (long) N * (5L * V + 5) + 1;
    }

    /** FLOPs of one backward call, {@code N·(2V + 1)}: a multiply-add per logit, one subtract at the target. */
    public static long flopsBackward(int N, int V) {
        return (long) N * (2L * V + 1);
    }

    /** Bytes of one forward call: logits read, probs written, targets read, losses written. */
    public static long bytesForward(int N, int V) {
        return 4L * (2L * N * V + 2L * N);
    }

    /** Bytes of one {@link #backward} call: probs read, dlogits read and written, targets read (no fill). */
    public static long bytesBackward(int N, int V) {
        return 4L * (3L * N * V + N);
    }

    /** Bytes of one {@link #backwardInPlace} call: the buffer read and written once, targets read. */
    public static long bytesBackwardInPlace(int N, int V) {
        return 4L * (2L * N * V + N);
    }

    private static void check(String what, float[] a, float[] b, int[] targets, int N, int V) {
        if (N < 0 || V < 0) {
            throw new IllegalArgumentException("CrossEntropy." + what + ": negative size N=" + N + " V=" + V);
        }
        long nv = (long) N * V;
        if (a.length < nv || b.length < nv || targets.length < N) {
            throw new IllegalArgumentException("CrossEntropy." + what + ": arrays too small for [N=" + N + ", V=" + V
                    + "]: " + a.length + " and " + b.length + " (need " + nv + "), targets " + targets.length
                    + " (need " + N + ")");
        }
        for (int n = 0; n < N; n++) {
            if (targets[n] < 0 || targets[n] >= V) {
                throw new IllegalArgumentException("CrossEntropy." + what + ": target " + targets[n] + " of row " + n
                        + " is outside the vocabulary [0, " + V + ")");
            }
        }
    }

    /**
     * Forward. Overwrites {@code losses [N]} and {@code probs [N, V]} (softmax of each row, saved for backward)
     * and returns the mean loss {@code Σ losses / N} (summed in double, in row order; 0 when N = 0). Vector API,
     * threads over rows.
     */
    public static double forward(float[] losses, float[] probs, float[] logits, int[] targets, int N, int V) {
        check("forward", probs, logits, targets, N, V);
        if (losses.length < N) {
            throw new IllegalArgumentException("CrossEntropy.forward: losses has " + losses.length + " < N=" + N);
        }
        Ledger.add(Ledger.Kind.LOSS, flopsForward(N, V), bytesForward(N, V));
        Parallel.forRange(N, Math.max(1, GRAIN_ELEMS / Math.max(1, V)), (from, to) -> {
            for (int n = from; n < to; n++) {
                losses[n] = row(probs, logits, n * V, V, targets[n]);
            }
        });
        return mean(losses, N);
    }

    private static double mean(float[] losses, int N) {
        if (N == 0) {
            return 0.0;
        }
        double s = 0;
        for (int n = 0; n < N; n++) {
            s += losses[n];
        }
        return s / N;
    }

    private static float row(float[] probs, float[] logits, int off, int V, int target) {
        // softmax into probs; the row's max and Σ exp(x - max) come back packed
        long ms = Softmax.rowForwardMaxSum(probs, logits, off, V, V);
        float max = Float.intBitsToFloat((int) (ms >>> 32));
        float sum = Float.intBitsToFloat((int) ms);
        // loss = logsumexp - logit[target]
        return (float) Math.log(sum) + (max - logits[off + target]);
    }

    /** Scalar twin of {@link #forward}. */
    public static double forwardScalar(float[] losses, float[] probs, float[] logits, int[] targets, int N, int V) {
        check("forwardScalar", probs, logits, targets, N, V);
        if (losses.length < N) {
            throw new IllegalArgumentException("CrossEntropy.forwardScalar: losses has " + losses.length + " < N=" + N);
        }
        Ledger.add(Ledger.Kind.LOSS, flopsForward(N, V), bytesForward(N, V));
        for (int n = 0; n < N; n++) {
            int off = n * V;
            // max
            float max = Float.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                max = Math.max(max, logits[off + v]);
            }
            // exp and sum
            float sum = 0f;
            for (int v = 0; v < V; v++) {
                float e = (float) Math.exp(logits[off + v] - max);
                probs[off + v] = e;
                sum += e;
            }
            // normalise
            float inv = 1.0f / sum;
            for (int v = 0; v < V; v++) {
                probs[off + v] *= inv;
            }
            // loss = logsumexp - logit[target]
            losses[n] = (float) Math.log(sum) + (max - logits[off + targets[n]]);
        }
        return mean(losses, N);
    }

    /**
     * Backward. ACCUMULATES {@code dlogits[n,v] += (probs[n,v] - [v == targets[n]])·dlossScale}; use
     * {@code dlossScale = 1/N} for the mean loss (times any loss scale). Vector API, threads over rows.
     */
    public static void backward(float[] dlogits, float[] probs, int[] targets, float dlossScale, int N, int V) {
        check("backward", dlogits, probs, targets, N, V);
        Ledger.add(Ledger.Kind.LOSS, flopsBackward(N, V), bytesBackward(N, V));
        Parallel.forRange(N, Math.max(1, GRAIN_ELEMS / Math.max(1, V)), (from, to) -> {
            for (int n = from; n < to; n++) {
                int off = n * V;
                FloatVector vs = FloatVector.broadcast(S, dlossScale);
                int v = 0;
                for (int up = S.loopBound(V); v < up; v += S.length()) {
                    FloatVector.fromArray(S, probs, off + v)
                            .fma(vs, FloatVector.fromArray(S, dlogits, off + v))
                            .intoArray(dlogits, off + v);
                }
                for (; v < V; v++) {
                    dlogits[off + v] += probs[off + v] * dlossScale;
                }
                dlogits[off + targets[n]] -= dlossScale;
            }
        });
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dlogits, float[] probs, int[] targets, float dlossScale, int N, int V) {
        check("backwardScalar", dlogits, probs, targets, N, V);
        Ledger.add(Ledger.Kind.LOSS, flopsBackward(N, V), bytesBackward(N, V));
        for (int n = 0; n < N; n++) {
            int off = n * V;
            // dlogits += probs·scale, then the one-hot at the target
            for (int v = 0; v < V; v++) {
                dlogits[off + v] += probs[off + v] * dlossScale;
            }
            dlogits[off + targets[n]] -= dlossScale;
        }
    }

    /**
     * Backward in place: OVERWRITES {@code probsThenGrad[n,v] = (p[n,v] - [v == targets[n]])·dlossScale}, where
     * {@code p} is what {@link #forward} left in the array (the probabilities are gone afterwards). Vector API,
     * threads over rows. Ledger: {@link #backward}'s FLOPs, {@link #bytesBackwardInPlace} bytes.
     *
     * <p>Same bits as {@code Arrays.fill(dlogits, 0f)} then {@link #backward}, on purpose (the golden training
     * trace): that path computes {@code fma(p, s, +0)} in the vector body, {@code +0 + p·s} in the vector tail and
     * {@code d - s} at the target, and this one computes the same expressions on the same operands with the zero
     * written as a literal. The literal zero is not a no-op and must stay: a plain {@code p·s} is -0 where
     * {@code s < 0} and the product is zero or underflows to zero, while {@code +0 + (-0) = +0}; and
     * {@code fma(p, s, +0)} keeps -0 when a nonzero product rounds to zero (the sum is rounded once), but not for an
     * exact zero product, so the body and the tail keep their two different forms. (C2 does not fold
     * {@code x + 0f}, for the same sign-of-zero reason.) For {@code s > 0}, the only scale a step uses, all forms
     * agree.
     */
    public static void backwardInPlace(float[] probsThenGrad, int[] targets, float dlossScale, int N, int V) {
        check("backwardInPlace", probsThenGrad, probsThenGrad, targets, N, V);
        Ledger.add(Ledger.Kind.LOSS, flopsBackward(N, V), bytesBackwardInPlace(N, V));
        float[] g = probsThenGrad;
        Parallel.forRange(N, Math.max(1, GRAIN_ELEMS / Math.max(1, V)), (from, to) -> {
            FloatVector vs = FloatVector.broadcast(S, dlossScale);
            FloatVector zero = FloatVector.zero(S);
            for (int n = from; n < to; n++) {
                int off = n * V;
                // g = p·s (+0, as into a zeroed dlogits), then the one-hot at the target
                int v = 0;
                for (int up = S.loopBound(V); v < up; v += S.length()) {
                    FloatVector.fromArray(S, g, off + v).fma(vs, zero).intoArray(g, off + v);
                }
                for (; v < V; v++) {
                    g[off + v] = 0f + g[off + v] * dlossScale;
                }
                g[off + targets[n]] -= dlossScale;
            }
        });
    }

    /** Scalar twin of {@link #backwardInPlace}: the same bits as a zero fill then {@link #backwardScalar}. */
    public static void backwardInPlaceScalar(float[] probsThenGrad, int[] targets, float dlossScale, int N, int V) {
        check("backwardInPlaceScalar", probsThenGrad, probsThenGrad, targets, N, V);
        Ledger.add(Ledger.Kind.LOSS, flopsBackward(N, V), bytesBackwardInPlace(N, V));
        float[] g = probsThenGrad;
        for (int n = 0; n < N; n++) {
            int off = n * V;
            // g = +0 + p·s, then the one-hot at the target
            for (int v = 0; v < V; v++) {
                g[off + v] = 0f + g[off + v] * dlossScale;
            }
            g[off + targets[n]] -= dlossScale;
        }
    }
}
