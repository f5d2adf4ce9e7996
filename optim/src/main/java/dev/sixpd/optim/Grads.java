package dev.sixpd.optim;

import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Vectors;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Whole-model gradient helpers: zeroing, scaling (gradient accumulation, loss-scale removal), the global L2 norm
 * and global-norm clipping. Work is charged to {@code Ledger.Phase.OPTIMIZER} (the phase is set and restored),
 * kind {@code ELEMENTWISE}. Not thread-safe; large tensors are processed by all threads, with results independent
 * of the thread count. A frozen parameter's gradient is empty: every helper here skips it (it adds nothing to the
 * norm and nothing to the ledger).
 *
 * <p>Gradient accumulation over {@code k} micro-batches: zero the grads once, run forward+backward on each
 * micro-batch (backward accumulates), then {@link #averageMicrobatches}{@code (params, k)} so the gradient is that
 * of the mean loss over all {@code k·B} sequences — the same as one batch of {@code k·B} up to rounding.
 * (Equivalently, scale each micro-batch's loss gradient by {@code 1/k}; do one or the other, not both.)
 */
public final class Grads {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private Grads() {
    }

    /** Sets every gradient to zero. */
    public static void zero(List<Param> params) {
        for (Param p : params) {
            p.zeroGrad();
        }
    }

    /** Total number of gradient elements: the trainable parameters' sizes (frozen ones have none; a gradient
     *  released by ZeRO-2/3 still counts). */
    public static long count(List<Param> params) {
        long n = 0;
        for (Param p : params) {
            n += p.trainable ? p.size() : 0;
        }
        return n;
    }

    /** Multiplies every gradient by {@code 1/microbatches} (see the class comment); 1 FLOP per element. */
    public static void averageMicrobatches(List<Param> params, int microbatches) {
        if (microbatches < 1) {
            throw new IllegalArgumentException("micro-batch count must be >= 1, got " + microbatches);
        }
        if (microbatches > 1) {
            scale(params, 1f / microbatches);
        }
    }

    /** {@code grad *= s} for every parameter; 1 FLOP and 8 bytes per element. */
    public static void scale(List<Param> params, float s) {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            scaleInPhase(params, s);
        } finally {
            Ledger.setPhase(old);
        }
    }

    private static void scaleInPhase(List<Param> params, float s) {
        for (Param p : params) {
            float[] g = p.grad;
            int n = g.length;
            Ledger.add(Ledger.Kind.ELEMENTWISE, n, 8L * n);
            if (n >= SlotOptimizer.PARALLEL_MIN) {
                Parallel.forRange(n, SlotOptimizer.GRAIN, (from, to) -> scale(g, from, to, s));
            } else {
                scale(g, 0, n, s);
            }
        }
    }

    /** {@code a[from, to) *= s}: Vector API body + scalar tail (a single rounding each, same as scalar). */
    public static void scale(float[] a, int from, int to, float s) {
        int upper = from + S.loopBound(to - from);
        for (int i = from; i < upper; i += S.length()) {
            FloatVector.fromArray(S, a, i).mul(s).intoArray(a, i);
        }
        for (int i = upper; i < to; i++) {
            a[i] *= s;
        }
    }

    /** Elements per block of the norm's partial sums; fixed, so the sum's association does not depend on threads. */
    static final int NORM_BLOCK = 1 << 14;

    /**
     * The global L2 norm of all gradients, {@code sqrt(Σ g²)}, accumulated in double: each block of
     * {@value #NORM_BLOCK} elements of each parameter is summed from 0 in index order (a double multiply-add per
     * element), and the block sums are added in order (parameters in list order). The blocks are fixed, so the
     * result is identical for any thread count. Infinite or NaN if any gradient is. Ledger: 2 FLOPs per element +
     * 1 for the sqrt, 4 bytes read per element.
     */
    public static double globalNorm(List<Param> params) {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            double ss = 0;
            long n = 0;
            for (Param p : params) {
                n += p.grad.length;
            }
            Ledger.add(Ledger.Kind.ELEMENTWISE, 2 * n + 1, 4 * n);
            for (Param p : params) {
                float[] g = p.grad;
                int blocks = (g.length + NORM_BLOCK - 1) / NORM_BLOCK;
                double[] partial = new double[blocks];
                // one task per block range; each block's sum is the same whichever thread computes it
                Parallel.RangeBody body = (from, to) -> {
                    for (int k = from; k < to; k++) {
                        partial[k] = sumSquares(g, k * NORM_BLOCK, Math.min(g.length, (k + 1) * NORM_BLOCK));
                    }
                };
                if (g.length >= SlotOptimizer.PARALLEL_MIN) {
                    Parallel.forRange(blocks, 1, body);
                } else {
                    body.run(0, blocks);
                }
                for (double x : partial) {
                    ss += x;
                }
            }
            return Math.sqrt(ss);
        } finally {
            Ledger.setPhase(old);
        }
    }

    /** {@code Σ a[i]²} over {@code [from, to)} in double, in index order. */
    static double sumSquares(float[] a, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            double x = a[i];
            s = Math.fma(x, x, s);
        }
        return s;
    }

    /**
     * Global-norm clipping: if the global norm exceeds {@code maxNorm}, multiplies every gradient by
     * {@code maxNorm / norm} so the norm becomes {@code maxNorm} (up to rounding). Returns the norm before clipping.
     * A non-finite norm leaves the gradients untouched (the caller decides: skip the step or stop). Charged to
     * {@code Ledger.Phase.OPTIMIZER}. {@code maxNorm <= 0} or infinite disables clipping (the norm is still returned).
     */
    public static double clipGlobalNorm(List<Param> params, double maxNorm) {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            double norm = globalNorm(params);
            if (maxNorm > 0 && Double.isFinite(maxNorm) && Double.isFinite(norm) && norm > maxNorm) {
                scaleInPhase(params, (float) (maxNorm / norm));
            }
            return norm;
        } finally {
            Ledger.setPhase(old);
        }
    }

    /** Whether every gradient element is finite. */
    public static boolean allFinite(List<Param> params) {
        for (Param p : params) {
            if (!allFinite(p.grad, 0, p.grad.length)) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code a[from, to)} is all finite: {@code x - x} is 0 for finite x and NaN for ±Inf or NaN. */
    static boolean allFinite(float[] a, int from, int to) {
        int upper = from + S.loopBound(to - from);
        FloatVector acc = FloatVector.zero(S);
        for (int i = from; i < upper; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, a, i);
            acc = acc.add(x.sub(x));
        }
        float s = acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        for (int i = upper; i < to; i++) {
            s += a[i] - a[i];
        }
        return s == 0f;
    }
}
