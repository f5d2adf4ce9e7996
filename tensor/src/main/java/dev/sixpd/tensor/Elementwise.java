package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise kernels on flat float arrays with offsets: add, mul, scale, axpy, accumulate, bias add.
 *
 * <p>Each public method has a Vector API version (threads over chunks of {@value #GRAIN} elements when large)
 * and a scalar twin ({@code ...Scalar}). Output arrays may alias inputs at the same offset. Ledger kind
 * {@link Ledger.Kind#ELEMENTWISE}: add, mul, scale and accumulate count 1 FLOP per element, axpy 2; bytes are
 * 4 per element per operand read or written. Thread-safe except for the {@link Ledger} accounting.
 */
public final class Elementwise {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    /** Elements per task: below this a call runs on the caller only. */
    static final int GRAIN = 1 << 15;

    private Elementwise() {
    }

    private static void check(String what, int n, float[] a, int ao, float[] b, int bo) {
        if (n < 0 || ao < 0 || bo < 0 || (long) ao + n > a.length || (long) bo + n > b.length) {
            throw new IllegalArgumentException("Elementwise." + what + ": range of " + n + " elements at offsets "
                    + ao + " and " + bo + " does not fit arrays of lengths " + a.length + " and " + b.length);
        }
    }

    // ---------------------------------------------------------------- add: out = a + b

    /** {@code out[i] = a[i] + b[i]}, {@code i < n}. */
    public static void add(float[] out, float[] a, float[] b, int n) {
        add(out, 0, a, 0, b, 0, n);
    }

    /** {@code out[oo+i] = a[ao+i] + b[bo+i]}, {@code i < n}. */
    public static void add(float[] out, int oo, float[] a, int ao, float[] b, int bo, int n) {
        check("add", n, out, oo, a, ao);
        check("add", n, b, bo, a, ao);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 12L * n);
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int i = from;
            for (int up = from + S.loopBound(to - from); i < up; i += S.length()) {
                FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).intoArray(out, oo + i);
            }
            for (; i < to; i++) {
                out[oo + i] = a[ao + i] + b[bo + i];
            }
        });
    }

    /** Scalar twin of {@link #add(float[], int, float[], int, float[], int, int)}. */
    public static void addScalar(float[] out, int oo, float[] a, int ao, float[] b, int bo, int n) {
        check("addScalar", n, out, oo, a, ao);
        check("addScalar", n, b, bo, a, ao);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 12L * n);
        for (int i = 0; i < n; i++) {
            out[oo + i] = a[ao + i] + b[bo + i];
        }
    }

    // ---------------------------------------------------------------- mul: out = a * b

    /** {@code out[i] = a[i]·b[i]}, {@code i < n}. */
    public static void mul(float[] out, float[] a, float[] b, int n) {
        mul(out, 0, a, 0, b, 0, n);
    }

    /** {@code out[oo+i] = a[ao+i]·b[bo+i]}, {@code i < n}. */
    public static void mul(float[] out, int oo, float[] a, int ao, float[] b, int bo, int n) {
        check("mul", n, out, oo, a, ao);
        check("mul", n, b, bo, a, ao);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 12L * n);
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int i = from;
            for (int up = from + S.loopBound(to - from); i < up; i += S.length()) {
                FloatVector.fromArray(S, a, ao + i).mul(FloatVector.fromArray(S, b, bo + i)).intoArray(out, oo + i);
            }
            for (; i < to; i++) {
                out[oo + i] = a[ao + i] * b[bo + i];
            }
        });
    }

    /** Scalar twin of {@link #mul(float[], int, float[], int, float[], int, int)}. */
    public static void mulScalar(float[] out, int oo, float[] a, int ao, float[] b, int bo, int n) {
        check("mulScalar", n, out, oo, a, ao);
        check("mulScalar", n, b, bo, a, ao);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 12L * n);
        for (int i = 0; i < n; i++) {
            out[oo + i] = a[ao + i] * b[bo + i];
        }
    }

    // ---------------------------------------------------------------- scale: x *= s

    /** {@code x[i] *= s}, {@code i < n}. */
    public static void scale(float[] x, float s, int n) {
        scale(x, 0, s, n);
    }

    /** {@code x[xo+i] *= s}, {@code i < n}. */
    public static void scale(float[] x, int xo, float s, int n) {
        check("scale", n, x, xo, x, xo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 8L * n);
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int i = from;
            for (int up = from + S.loopBound(to - from); i < up; i += S.length()) {
                FloatVector.fromArray(S, x, xo + i).mul(s).intoArray(x, xo + i);
            }
            for (; i < to; i++) {
                x[xo + i] *= s;
            }
        });
    }

    /** Scalar twin of {@link #scale(float[], int, float, int)}. */
    public static void scaleScalar(float[] x, int xo, float s, int n) {
        check("scaleScalar", n, x, xo, x, xo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 8L * n);
        for (int i = 0; i < n; i++) {
            x[xo + i] *= s;
        }
    }

    // ---------------------------------------------------------------- axpy: y += a * x

    /** {@code y[i] += a·x[i]}, {@code i < n} (one fused multiply-add per element). */
    public static void axpy(float[] y, float a, float[] x, int n) {
        axpy(y, 0, a, x, 0, n);
    }

    /** {@code y[yo+i] += a·x[xo+i]}, {@code i < n} (one fused multiply-add per element). */
    public static void axpy(float[] y, int yo, float a, float[] x, int xo, int n) {
        check("axpy", n, y, yo, x, xo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, 2L * n, 12L * n);
        Parallel.forRange(n, GRAIN, (from, to) -> {
            FloatVector va = FloatVector.broadcast(S, a);
            int i = from;
            for (int up = from + S.loopBound(to - from); i < up; i += S.length()) {
                FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
            }
            for (; i < to; i++) {
                y[yo + i] = Math.fma(a, x[xo + i], y[yo + i]);
            }
        });
    }

    /** Scalar twin of {@link #axpy(float[], int, float, float[], int, int)} (also fused, so bit-identical). */
    public static void axpyScalar(float[] y, int yo, float a, float[] x, int xo, int n) {
        check("axpyScalar", n, y, yo, x, xo);
        Ledger.add(Ledger.Kind.ELEMENTWISE, 2L * n, 12L * n);
        for (int i = 0; i < n; i++) {
            y[yo + i] = Math.fma(a, x[xo + i], y[yo + i]);
        }
    }

    // ---------------------------------------------------------------- accumulate: y += x

    /** {@code y[i] += x[i]}, {@code i < n} (e.g. a residual's gradient). */
    public static void accumulate(float[] y, float[] x, int n) {
        accumulate(y, 0, x, 0, n);
    }

    /** {@code y[yo+i] += x[xo+i]}, {@code i < n}. */
    public static void accumulate(float[] y, int yo, float[] x, int xo, int n) {
        add(y, yo, y, yo, x, xo, n);
    }

    /** Scalar twin of {@link #accumulate(float[], int, float[], int, int)}. */
    public static void accumulateScalar(float[] y, int yo, float[] x, int xo, int n) {
        addScalar(y, yo, y, yo, x, xo, n);
    }

    // ---------------------------------------------------------------- addBias: out[n,:] += bias

    /** {@code out[n,c] += bias[c]} for {@code out [N, C]}, {@code bias [C]}: {@code N·C} FLOPs. */
    public static void addBias(float[] out, float[] bias, int N, int C) {
        addBias(out, 0, C, bias, N, C);
    }

    /**
     * {@code out[oo + n·ldo + c] += bias[c]} for {@code n < N, c < C}: the bias of a layer whose output is a column
     * slice of wider rows (e.g. a q, k or v projection writing into a fused qkv buffer). {@code N·C} FLOPs.
     */
    public static void addBias(float[] out, int oo, int ldo, float[] bias, int N, int C) {
        checkBias("addBias", out, oo, ldo, bias, N, C);
        Ledger.add(Ledger.Kind.ELEMENTWISE, (long) N * C, 4L * (2L * N * C + C));
        if (C == 0) {
            return;
        }
        Parallel.forRange(N, Math.max(1, GRAIN / C), (from, to) -> {
            for (int n = from; n < to; n++) {
                int o = oo + n * ldo;
                int c = 0;
                for (int up = S.loopBound(C); c < up; c += S.length()) {
                    FloatVector.fromArray(S, out, o + c).add(FloatVector.fromArray(S, bias, c)).intoArray(out, o + c);
                }
                for (; c < C; c++) {
                    out[o + c] += bias[c];
                }
            }
        });
    }

    /** Scalar twin of {@link #addBias(float[], float[], int, int)}. */
    public static void addBiasScalar(float[] out, float[] bias, int N, int C) {
        addBiasScalar(out, 0, C, bias, N, C);
    }

    /** Scalar twin of {@link #addBias(float[], int, int, float[], int, int)}. */
    public static void addBiasScalar(float[] out, int oo, int ldo, float[] bias, int N, int C) {
        checkBias("addBiasScalar", out, oo, ldo, bias, N, C);
        Ledger.add(Ledger.Kind.ELEMENTWISE, (long) N * C, 4L * (2L * N * C + C));
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                out[oo + n * ldo + c] += bias[c];
            }
        }
    }

    static void checkBias(String what, float[] mat, float[] vec, int N, int C) {
        checkBias(what, mat, 0, C, vec, N, C);
    }

    /** Checks that {@code mat} holds rows {@code oo + n·ld + [0, C)} for {@code n < N} and {@code vec} holds C. */
    static void checkBias(String what, float[] mat, int oo, int ld, float[] vec, int N, int C) {
        if (N < 0 || C < 0 || oo < 0 || ld < C || vec.length < C
                || (N > 0 && C > 0 && mat.length < oo + (long) (N - 1) * ld + C)) {
            throw new IllegalArgumentException(what + ": arrays of lengths " + mat.length + " and " + vec.length
                    + " do not fit [N=" + N + ", C=" + C + "] at offset " + oo + " with row stride " + ld
                    + " and [C]");
        }
    }
}
