package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Numerically stable row softmax with an optional causal mask.
 *
 * <p>Rows of {@code [rows, cols]}: {@code out[r,j] = exp(inp[r,j] - max_r) / Σ_j' exp(inp[r,j'] - max_r)}. With
 * {@code causal}, the rows are read as stacked {@code [cols, cols]} blocks (row {@code r} is query position
 * {@code r % cols}) and row {@code r} keeps only columns {@code j <= r % cols}; the masked columns are written as
 * exact zeros and cost nothing. Ledger kind {@link Ledger.Kind#SOFTMAX}. Thread-safe except for the
 * {@link Ledger} accounting.
 */
public final class Softmax {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int GRAIN_ELEMS = 1 << 14;

    private Softmax() {
    }

    /** Number of unmasked entries of a {@code [rows, cols]} softmax (all of them unless {@code causal}). */
    public static long activeEntries(int rows, int cols, boolean causal) {
        if (!causal || cols == 0) {
            return (long) rows * cols;
        }
        long full = rows / cols;
        long rem = rows % cols;
        return full * ((long) cols * (cols + 1) / 2) + rem * (rem + 1) / 2;
    }

    /**
     * FLOPs of one forward call: per unmasked entry max, subtract, exp, sum, multiply (5); per non-empty row one
     * division (the reciprocal of the sum). {@code 5·active + rows}.
     */
    public static long flopsForward(int rows, int cols, boolean causal) {
        return 5L * activeEntries(rows, cols, causal) + (cols == 0 ? 0 : rows);
    }

    /** FLOPs of one backward call: per entry the dot product (2), subtract, multiply, accumulate (3): {@code 5·rows·cols}. */
    public static long flopsBackward(int rows, int cols) {
        return 5L * rows * cols;
    }

    private static void check(String what, int rows, int cols, float[] a, float[] b) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("Softmax." + what + ": negative size rows=" + rows + " cols=" + cols);
        }
        long n = (long) rows * cols;
        if (a.length < n || b.length < n) {
            throw new IllegalArgumentException("Softmax." + what + ": arrays of lengths " + a.length + " and "
                    + b.length + " are too small for [" + rows + ", " + cols + "] (need " + n + ")");
        }
    }

    /** Vector API forward, threads over rows. Overwrites {@code out [rows, cols]} (may alias {@code inp}). */
    public static void forward(float[] out, float[] inp, int rows, int cols, boolean causal) {
        check("forward", rows, cols, out, inp);
        Ledger.add(Ledger.Kind.SOFTMAX, flopsForward(rows, cols, causal), 8L * rows * cols);
        if (cols == 0) {
            return;
        }
        Parallel.forRange(rows, Math.max(1, GRAIN_ELEMS / cols), (from, to) -> {
            for (int r = from; r < to; r++) {
                int n = causal ? r % cols + 1 : cols;
                rowForward(out, inp, r * cols, n, cols);
            }
        });
    }

    /**
     * Softmax of {@code inp[off, off+n)} into {@code out[off, off+n)}, zeros into {@code out[off+n, off+cols)};
     * {@code 1 <= n <= cols}. Package-private: {@link Attention} calls it on each score row.
     */
    static void rowForward(float[] out, float[] inp, int off, int n, int cols) {
        rowForwardMaxSum(out, inp, off, n, cols);
    }

    /**
     * {@link #rowForward}, returning the row's max and its sum of {@code exp(x - max)} packed as two float bit
     * patterns ({@code max} high, {@code sum} low) for {@link CrossEntropy}'s log-sum-exp.
     *
     * <p>The partial last vector is handled as a vector, not with a scalar exp: its lanes at or past
     * {@code n} are set to -inf, so they take no part in the max, {@link Vectors#exp} makes exact zeros of them, and (when the vector fits
     * inside the row) are stored as the first masked zeros.
     */
    static long rowForwardMaxSum(float[] out, float[] inp, int off, int n, int cols) {
        int L = S.length();
        int full = S.loopBound(n);
        boolean tail = full < n;
        // the tail vector may be loaded/stored whole when it stays inside the row
        boolean wide = full + L <= cols;
        VectorMask<Float> m = tail ? S.indexInRange(full, n) : null;
        FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        // max over the row
        FloatVector vmax = ninf;
        for (int i = 0; i < full; i += L) {
            vmax = vmax.max(FloatVector.fromArray(S, inp, off + i));
        }
        FloatVector vt = null;
        if (tail) {
            FloatVector x = wide ? FloatVector.fromArray(S, inp, off + full) : FloatVector.fromArray(S, inp, off + full, m);
            vt = ninf.blend(x, m);
            vmax = vmax.max(vt);
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        // e = exp(x - max) into out, sum e
        FloatVector vm = FloatVector.broadcast(S, max);
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < full; i += L) {
            FloatVector e = Vectors.exp(FloatVector.fromArray(S, inp, off + i).sub(vm));
            e.intoArray(out, off + i);
            acc = acc.add(e);
        }
        if (tail) {
            FloatVector e = Vectors.exp(vt.sub(vm));
            storeTail(e, out, off + full, wide, m);
            acc = acc.add(e);
        }
        float sum = Vectors.sum(acc);
        // normalise
        FloatVector inv = FloatVector.broadcast(S, 1.0f / sum);
        for (int i = 0; i < full; i += L) {
            FloatVector.fromArray(S, out, off + i).mul(inv).intoArray(out, off + i);
        }
        if (tail) {
            FloatVector e = wide ? FloatVector.fromArray(S, out, off + full)
                    : FloatVector.fromArray(S, out, off + full, m);
            storeTail(e.mul(inv), out, off + full, wide, m);
        }
        // masked columns
        java.util.Arrays.fill(out, off + (tail && wide ? full + L : n), off + cols, 0f);
        return ((long) Float.floatToRawIntBits(max) << 32) | (Float.floatToRawIntBits(sum) & 0xffffffffL);
    }

    private static void storeTail(FloatVector v, float[] a, int at, boolean wide, VectorMask<Float> m) {
        if (wide) {
            v.intoArray(a, at);
        } else {
            v.intoArray(a, at, m);
        }
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, float[] inp, int rows, int cols, boolean causal) {
        check("forwardScalar", rows, cols, out, inp);
        Ledger.add(Ledger.Kind.SOFTMAX, flopsForward(rows, cols, causal), 8L * rows * cols);
        if (cols == 0) {
            return;
        }
        for (int r = 0; r < rows; r++) {
            rowForwardScalar(out, inp, r * cols, causal ? r % cols + 1 : cols, cols);
        }
    }

    static void rowForwardScalar(float[] out, float[] inp, int off, int n, int cols) {
        // max
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, inp[off + i]);
        }
        // exp and sum
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = Vectors.exp(inp[off + i] - max);
            out[off + i] = e;
            sum += e;
        }
        // normalise, zero the masked tail
        float inv = 1.0f / sum;
        for (int i = 0; i < n; i++) {
            out[off + i] *= inv;
        }
        for (int j = n; j < cols; j++) {
            out[off + j] = 0f;
        }
    }

    /**
     * Backward. ACCUMULATES {@code dinp[r,j] += out[r,j]·(dout[r,j] - Σ_j' out[r,j']·dout[r,j'])}. Masked entries
     * have {@code out = 0} and so receive nothing; no mask argument is needed. Vector API, threads over rows.
     */
    public static void backward(float[] dinp, float[] out, float[] dout, int rows, int cols) {
        check("backward", rows, cols, dinp, out);
        check("backward", rows, cols, dout, out);
        Ledger.add(Ledger.Kind.SOFTMAX, flopsBackward(rows, cols), 16L * rows * cols);
        if (cols == 0) {
            return;
        }
        Parallel.forRange(rows, Math.max(1, GRAIN_ELEMS / cols), (from, to) -> {
            for (int r = from; r < to; r++) {
                rowBackward(dinp, out, dout, r * cols, cols);
            }
        });
    }

    private static void rowBackward(float[] dinp, float[] out, float[] dout, int off, int n) {
        int up = S.loopBound(n);
        // s = Σ out·dout
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < up; i += S.length()) {
            acc = FloatVector.fromArray(S, out, off + i).fma(FloatVector.fromArray(S, dout, off + i), acc);
        }
        float s = Vectors.sum(acc);
        for (; i < n; i++) {
            s += out[off + i] * dout[off + i];
        }
        // dinp += out·(dout - s)
        i = 0;
        for (; i < up; i += S.length()) {
            FloatVector o = FloatVector.fromArray(S, out, off + i);
            FloatVector g = FloatVector.fromArray(S, dout, off + i).sub(s);
            o.fma(g, FloatVector.fromArray(S, dinp, off + i)).intoArray(dinp, off + i);
        }
        for (; i < n; i++) {
            dinp[off + i] += out[off + i] * (dout[off + i] - s);
        }
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dinp, float[] out, float[] dout, int rows, int cols) {
        check("backwardScalar", rows, cols, dinp, out);
        check("backwardScalar", rows, cols, dout, out);
        Ledger.add(Ledger.Kind.SOFTMAX, flopsBackward(rows, cols), 16L * rows * cols);
        for (int r = 0; r < rows; r++) {
            int off = r * cols;
            // s = Σ out·dout
            float s = 0f;
            for (int i = 0; i < cols; i++) {
                s += out[off + i] * dout[off + i];
            }
            // dinp += out·(dout - s)
            for (int i = 0; i < cols; i++) {
                dinp[off + i] += out[off + i] * (dout[off + i] - s);
            }
        }
    }
}
