package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix-vector product for one row of activations against a weight stored {@code [out, in]} (a Linear layer's
 * forward at batch × time = 1, as in generation with a KV cache): {@code y[o] = Σ_i x[i]·W[o, i]}.
 *
 * <p>Why not {@link GemmKernel}: with M = 1 its packing copies the whole weight before using each value once, so
 * the weight crosses memory three times; here each weight row is read once, straight, as a dot product with x.
 * At M = 1 the product is bound by the weight's bytes (4·out·in), not by FLOPs.
 *
 * <p>Bits: each {@code y[o]} is one fma chain per lane over {@code i} in steps of {@link Vectors#LANES}, the lanes
 * added by {@link Vectors#sum}, then the scalar tail in order; {@link #ntScalar} computes the same sums in the
 * same order, so the two give the same bits. Rows are split over threads, each row computed by one thread: the
 * same bits for any thread count. Ledger: kind {@link Ledger.Kind#MATMUL}, {@code 2·out·in} FLOPs
 * ({@link #flops}). Thread-safe except for the ledger.
 */
public final class Gemv {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    /**
     * Weights per task, 2^20 floats (4 MiB): a hand-off to the pool costs about as much as streaming a few hundred
     * KiB, and at the medium model's shapes (at most 1536 × 384) 2 threads ran a decode step slower than 1
     * (3.6 against 2.9 ms per token with 64-row tasks), so smaller matrices stay on the calling thread.
     */
    private static final int GRAIN_WEIGHTS = 1 << 20;

    private Gemv() {
    }

    /** FLOPs of one call: a multiply-add per weight, {@code 2·out·in}. */
    public static long flops(int out, int in) {
        return 2L * out * in;
    }

    /**
     * Overwrites {@code y[yOff + o] = Σ_i x[xOff + i]·w[wOff + o·ldw + i]} for {@code o < out}, {@code i < in}.
     * Vector API.
     */
    public static void nt(float[] y, int yOff, float[] x, int xOff, float[] w, int wOff, int ldw, int out, int in) {
        check(y, yOff, x, xOff, w, wOff, ldw, out, in);
        Parallel.forRange(out, Math.max(1, GRAIN_WEIGHTS / Math.max(1, in)), (from, to) -> rows(y, yOff, x, xOff, w, wOff, ldw, in, from, to));
    }

    private static void rows(float[] y, int yOff, float[] x, int xOff, float[] w, int wOff, int ldw, int in,
                             int from, int to) {
        int L = S.length();
        int bound = S.loopBound(in);
        for (int o = from; o < to; o++) {
            int row = wOff + o * ldw;
            // y[o] = Σ_i x[i]·w[o, i]: lanes over i, one fma chain per lane, then the tail
            FloatVector acc = FloatVector.zero(S);
            int i = 0;
            for (; i < bound; i += L) {
                acc = FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.fromArray(S, w, row + i), acc);
            }
            float s = Vectors.sum(acc);
            for (; i < in; i++) {
                s = Math.fma(x[xOff + i], w[row + i], s);
            }
            y[yOff + o] = s;
        }
    }

    /** Scalar twin of {@link #nt}: the same per-lane chains, lane sums and tail, plain loops. */
    public static void ntScalar(float[] y, int yOff, float[] x, int xOff, float[] w, int wOff, int ldw, int out,
                                int in) {
        check(y, yOff, x, xOff, w, wOff, ldw, out, in);
        int L = Vectors.LANES;
        int bound = in - in % L;
        float[] lanes = new float[L];
        for (int o = 0; o < out; o++) {
            int row = wOff + o * ldw;
            java.util.Arrays.fill(lanes, 0f);
            // lane j accumulates i = j, j + L, j + 2L, ... below the vector bound
            for (int i = 0; i < bound; i += L) {
                for (int j = 0; j < L; j++) {
                    lanes[j] = Math.fma(x[xOff + i + j], w[row + i + j], lanes[j]);
                }
            }
            // the lanes left to right, as Vectors.sum
            float s = lanes[0];
            for (int j = 1; j < L; j++) {
                s += lanes[j];
            }
            for (int i = bound; i < in; i++) {
                s = Math.fma(x[xOff + i], w[row + i], s);
            }
            y[yOff + o] = s;
        }
    }

    private static void check(float[] y, int yOff, float[] x, int xOff, float[] w, int wOff, int ldw, int out,
                              int in) {
        if (out < 0 || in < 0 || ldw < in) {
            throw new IllegalArgumentException("Gemv: need out, in >= 0 and ldw >= in, got out=" + out + " in=" + in
                    + " ldw=" + ldw);
        }
        if (xOff < 0 || (long) xOff + in > x.length || yOff < 0 || (long) yOff + out > y.length || wOff < 0
                || (out > 0 && (long) wOff + (long) (out - 1) * ldw + in > w.length)) {
            throw new IllegalArgumentException("Gemv: x [" + in + "] at " + xOff + " (length " + x.length + "), y ["
                    + out + "] at " + yOff + " (length " + y.length + ") or W [" + out + ", " + in + "] at " + wOff
                    + " with row stride " + ldw + " (length " + w.length + ") runs past its array");
        }
        Ledger.add(Ledger.Kind.MATMUL, flops(out, in), 4L * ((long) out * in + in + out));
    }
}
