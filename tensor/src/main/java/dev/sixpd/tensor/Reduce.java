package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reductions: sum, max, dot over a range, and column sums of a matrix (a bias gradient).
 *
 * <p>sum/max/dot run on the calling thread (they are memory-bound and cheap, and one thread keeps the float
 * summation order fixed); they accumulate in float over four independent vector accumulators, so results
 * differ from the scalar twins' sequential sums by rounding only. Ledger kind {@link Ledger.Kind#ELEMENTWISE}
 * (sum and max 1 FLOP per element, dot 2). Thread-safe except for the {@link Ledger} accounting.
 */
public final class Reduce {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private Reduce() {
    }

    private static void check(String what, int n, float[] a, int ao) {
        if (n < 0 || ao < 0 || (long) ao + n > a.length) {
            throw new IllegalArgumentException("Reduce." + what + ": range of " + n + " elements at offset " + ao
                    + " does not fit an array of length " + a.length);
        }
    }

    /** {@code Σ x[i]}, {@code i < n}. */
    public static float sum(float[] x, int n) {
        return sum(x, 0, n);
    }

    /** {@code Σ x[xo+i]}, {@code i < n}; 0 when n = 0. */
    public static float sum(float[] x, int xo, int n) {
        check("sum", n, x, xo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 4L * n);
        int L = S.length();
        // four independent accumulators hide the add latency
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        int i = 0;
        for (int up = n - 4 * L; i <= up; i += 4 * L) {
            a0 = a0.add(FloatVector.fromArray(S, x, xo + i));
            a1 = a1.add(FloatVector.fromArray(S, x, xo + i + L));
            a2 = a2.add(FloatVector.fromArray(S, x, xo + i + 2 * L));
            a3 = a3.add(FloatVector.fromArray(S, x, xo + i + 3 * L));
        }
        for (int up = S.loopBound(n); i < up; i += L) {
            a0 = a0.add(FloatVector.fromArray(S, x, xo + i));
        }
        float s = Vectors.sum(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) {
            s += x[xo + i];
        }
        return s;
    }

    /** Scalar twin of {@link #sum(float[], int, int)}. */
    public static float sumScalar(float[] x, int xo, int n) {
        check("sumScalar", n, x, xo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 4L * n);
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s += x[xo + i];
        }
        return s;
    }

    /** {@code max x[i]}, {@code i < n}. */
    public static float max(float[] x, int n) {
        return max(x, 0, n);
    }

    /** {@code max x[xo+i]}, {@code i < n}; negative infinity when n = 0. */
    public static float max(float[] x, int xo, int n) {
        check("max", n, x, xo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 4L * n);
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            m = m.max(FloatVector.fromArray(S, x, xo + i));
        }
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            r = Math.max(r, x[xo + i]);
        }
        return r;
    }

    /** Scalar twin of {@link #max(float[], int, int)}. */
    public static float maxScalar(float[] x, int xo, int n) {
        check("maxScalar", n, x, xo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 4L * n);
        float r = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            r = Math.max(r, x[xo + i]);
        }
        return r;
    }

    /** {@code Σ a[i]·b[i]}, {@code i < n}. */
    public static float dot(float[] a, float[] b, int n) {
        return dot(a, 0, b, 0, n);
    }

    /** {@code Σ a[ao+i]·b[bo+i]}, {@code i < n}. */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        check("dot", n, a, ao);
        check("dot", n, b, bo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, 2L * n, 8L * n);
        return dotBody(a, ao, b, bo, n);
    }

    /** The dot product without checks or accounting, for other kernels' inner loops. */
    static float dotBody(float[] a, int ao, float[] b, int bo, int n) {
        int L = S.length();
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        int i = 0;
        for (int up = n - 4 * L; i <= up; i += 4 * L) {
            a0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), a0);
            a1 = FloatVector.fromArray(S, a, ao + i + L).fma(FloatVector.fromArray(S, b, bo + i + L), a1);
            a2 = FloatVector.fromArray(S, a, ao + i + 2 * L).fma(FloatVector.fromArray(S, b, bo + i + 2 * L), a2);
            a3 = FloatVector.fromArray(S, a, ao + i + 3 * L).fma(FloatVector.fromArray(S, b, bo + i + 3 * L), a3);
        }
        for (int up = S.loopBound(n); i < up; i += L) {
            a0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), a0);
        }
        float s = Vectors.sum(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) {
            s = Math.fma(a[ao + i], b[bo + i], s);
        }
        return s;
    }

    /** Scalar twin of {@link #dot(float[], int, float[], int, int)}. */
    public static float dotScalar(float[] a, int ao, float[] b, int bo, int n) {
        check("dotScalar", n, a, ao);
        check("dotScalar", n, b, bo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, 2L * n, 8L * n);
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /**
     * Column sums, ACCUMULATED: {@code out[c] += Σ_n x[n,c]} for {@code x [N, C]}, {@code out [C]} (a Linear
     * layer's bias gradient). Threads over channel slices, each walking all rows in order, so the result does not
     * depend on the thread count. {@code N·C} FLOPs.
     */
    public static void sumRows(float[] out, float[] x, int N, int C) {
        sumRows(out, x, 0, C, N, C);
    }

    /** As {@link #sumRows(float[], float[], int, int)} over the column slice {@code x[xo + n·ldx + c]}. */
    public static void sumRows(float[] out, float[] x, int xo, int ldx, int N, int C) {
        Elementwise.checkBias("Reduce.sumRows", x, xo, ldx, out, N, C);
        Ledger.add(Ledger.Kind.ELEMENTWISE, (long) N * C, 4L * ((long) N * C + 2L * C));
        int L = S.length();
        int chunks = (C + L - 1) / L;
        int grain = (long) N * C < Elementwise.GRAIN ? Math.max(1, chunks) : 1;
        Parallel.forRange(chunks, grain, (from, to) -> {
            int c0 = from * L;
            int c1 = Math.min(C, to * L);
            for (int n = 0; n < N; n++) {
                int o = xo + n * ldx;
                int c = c0;
                for (int up = c0 + S.loopBound(c1 - c0); c < up; c += L) {
                    FloatVector.fromArray(S, out, c).add(FloatVector.fromArray(S, x, o + c)).intoArray(out, c);
                }
                for (; c < c1; c++) {
                    out[c] += x[o + c];
                }
            }
        });
    }

    /** Scalar twin of {@link #sumRows(float[], float[], int, int)}. */
    public static void sumRowsScalar(float[] out, float[] x, int N, int C) {
        sumRowsScalar(out, x, 0, C, N, C);
    }

    /** Scalar twin of {@link #sumRows(float[], float[], int, int, int, int)}. */
    public static void sumRowsScalar(float[] out, float[] x, int xo, int ldx, int N, int C) {
        Elementwise.checkBias("Reduce.sumRowsScalar", x, xo, ldx, out, N, C);
        Ledger.add(Ledger.Kind.ELEMENTWISE, (long) N * C, 4L * ((long) N * C + 2L * C));
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                out[c] += x[xo + n * ldx + c];
            }
        }
    }
}
