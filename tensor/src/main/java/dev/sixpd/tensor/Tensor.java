package dev.sixpd.tensor;

import java.util.Arrays;

/**
 * An n-dimensional array: a shape, row-major strides and an offset into a flat storage array.
 *
 * <p>FP32 tensors store into a {@code float[]}; BF16 and FP16 tensors store their 16-bit patterns into a
 * {@code short[]} and convert through {@link Half} on every read and write (values are rounded to nearest, ties to
 * even, when stored). Views ({@link #reshape}, {@link #transpose}, {@link #slice}) share storage; {@link #contiguous}
 * copies when needed. Kernels work on the flat arrays ({@link #f32()}, {@link #offset()}) of contiguous FP32
 * tensors. Not thread-safe.
 */
public final class Tensor {
    private final DType dtype;
    private final int[] shape;
    private final int[] strides;
    private final int offset;
    private final float[] f32;
    private final short[] h16;

    private Tensor(DType dtype, int[] shape, int[] strides, int offset, float[] f32, short[] h16) {
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.f32 = f32;
        this.h16 = h16;
    }

    /** A new zero-filled tensor. */
    public static Tensor zeros(DType dtype, int... shape) {
        int[] s = checkShape(shape);
        long n = numel(s);
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("tensor " + Arrays.toString(s) + " has " + n
                    + " elements, more than one Java array holds (2^31 - 1)");
        }
        return dtype == DType.FP32
                ? new Tensor(dtype, s, rowMajor(s), 0, new float[(int) n], null)
                : new Tensor(dtype, s, rowMajor(s), 0, null, new short[(int) n]);
    }

    /** A new FP32 zero-filled tensor. */
    public static Tensor zeros(int... shape) {
        return zeros(DType.FP32, shape);
    }

    /** Wraps {@code data} (not copied) as a contiguous FP32 tensor of the given shape. */
    public static Tensor of(float[] data, int... shape) {
        int[] s = checkShape(shape);
        if (numel(s) != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(s) + " holds " + numel(s)
                    + " elements but the data has " + data.length);
        }
        return new Tensor(DType.FP32, s, rowMajor(s), 0, data, null);
    }

    /** A new tensor with values drawn from N(mean, std²), reproducible for a given seed. */
    public static Tensor randn(DType dtype, long seed, double mean, double std, int... shape) {
        Tensor t = zeros(dtype, shape);
        Rng rng = new Rng(seed);
        long n = t.numel();
        for (int i = 0; i < n; i++) {
            t.setFlat(i, (float) (mean + std * rng.nextGaussian()));
        }
        return t;
    }

    /** A new tensor with values uniform in [lo, hi), reproducible for a given seed. */
    public static Tensor uniform(DType dtype, long seed, double lo, double hi, int... shape) {
        Tensor t = zeros(dtype, shape);
        Rng rng = new Rng(seed);
        long n = t.numel();
        for (int i = 0; i < n; i++) {
            t.setFlat(i, (float) (lo + (hi - lo) * rng.nextDouble()));
        }
        return t;
    }

    public DType dtype() {
        return dtype;
    }

    public int rank() {
        return shape.length;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int size(int dim) {
        return shape[dim < 0 ? shape.length + dim : dim];
    }

    public int[] strides() {
        return strides.clone();
    }

    public int offset() {
        return offset;
    }

    public long numel() {
        return numel(shape);
    }

    /** The FP32 storage array (shared, not copied); throws for 16-bit tensors. */
    public float[] f32() {
        if (f32 == null) {
            throw new IllegalStateException("tensor is " + dtype + ", not FP32: call to(DType.FP32) first");
        }
        return f32;
    }

    /** The 16-bit storage array (shared, not copied); throws for FP32 tensors. */
    public short[] h16() {
        if (h16 == null) {
            throw new IllegalStateException("tensor is FP32 and has no 16-bit storage");
        }
        return h16;
    }

    /** Whether the elements lie in row-major order with no gaps, so kernels can walk the flat array. */
    public boolean isContiguous() {
        return Arrays.equals(strides, rowMajor(shape));
    }

    /** The element at the given indices, as FP32. */
    public float get(int... idx) {
        return read(index(idx));
    }

    /** Stores {@code v} at the given indices (rounded to the dtype). */
    public void set(float v, int... idx) {
        write(index(idx), v);
    }

    /** The element at row-major position {@code i} of the logical shape (works for views too). */
    public float getFlat(long i) {
        return read(flatToStorage(i));
    }

    /** Stores {@code v} at row-major position {@code i} of the logical shape. */
    public void setFlat(long i, float v) {
        write(flatToStorage(i), v);
    }

    private float read(int p) {
        return switch (dtype) {
            case FP32 -> f32[p];
            case BF16 -> Half.bf16ToFloat(h16[p]);
            case FP16 -> Half.fp16ToFloat(h16[p]);
        };
    }

    private void write(int p, float v) {
        switch (dtype) {
            case FP32 -> f32[p] = v;
            case BF16 -> h16[p] = Half.floatToBf16(v);
            case FP16 -> h16[p] = Half.floatToFp16(v);
        }
    }

    private int index(int[] idx) {
        if (idx.length != shape.length) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " needs "
                    + shape.length + " indices, got " + idx.length);
        }
        int p = offset;
        for (int d = 0; d < idx.length; d++) {
            if (idx[d] < 0 || idx[d] >= shape[d]) {
                throw new IndexOutOfBoundsException("index " + idx[d] + " out of range for dim " + d
                        + " of size " + shape[d] + " in shape " + Arrays.toString(shape));
            }
            p += idx[d] * strides[d];
        }
        return p;
    }

    private int flatToStorage(long i) {
        int p = offset;
        for (int d = shape.length - 1; d >= 0; d--) {
            int k = (int) (i % shape[d]);
            i /= shape[d];
            p += k * strides[d];
        }
        return p;
    }

    /**
     * A view with a new shape over the same elements; one dimension may be -1 (inferred). Needs a contiguous
     * tensor; call {@link #contiguous()} first otherwise.
     */
    public Tensor reshape(int... newShape) {
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int d = 0; d < s.length; d++) {
            if (s[d] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("reshape " + Arrays.toString(newShape) + ": only one -1");
                }
                infer = d;
            } else {
                known *= s[d];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to "
                        + Arrays.toString(newShape));
            }
            s[infer] = (int) (numel() / known);
        }
        checkShape(s);
        if (numel(s) != numel()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " (" + numel()
                    + " elements) to " + Arrays.toString(s) + " (" + numel(s) + " elements)");
        }
        if (!isContiguous()) {
            throw new IllegalStateException("reshape needs a contiguous tensor; shape " + Arrays.toString(shape)
                    + " has strides " + Arrays.toString(strides) + ": call contiguous() first");
        }
        return new Tensor(dtype, s, rowMajor(s), offset, f32, h16);
    }

    /** A view with the last two dimensions swapped (no copy). */
    public Tensor transpose() {
        if (shape.length < 2) {
            throw new IllegalArgumentException("transpose needs rank >= 2, got shape " + Arrays.toString(shape));
        }
        int[] s = shape.clone();
        int[] st = strides.clone();
        int a = s.length - 2;
        int b = s.length - 1;
        int t = s[a];
        s[a] = s[b];
        s[b] = t;
        t = st[a];
        st[a] = st[b];
        st[b] = t;
        return new Tensor(dtype, s, st, offset, f32, h16);
    }

    /** A view of rows {@code [from, to)} along the first dimension (no copy). */
    public Tensor slice(int from, int to) {
        if (shape.length == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") out of range for shape "
                    + Arrays.toString(shape));
        }
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(dtype, s, strides.clone(), offset + from * strides[0], f32, h16);
    }

    /** This tensor if it is contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        return isContiguous() ? this : copy(dtype);
    }

    /** A contiguous copy converted to {@code target} (rounded to nearest, ties to even). */
    public Tensor to(DType target) {
        return target == dtype && isContiguous() ? this : copy(target);
    }

    /** A new contiguous copy in {@code target}. */
    public Tensor copy(DType target) {
        Tensor out = zeros(target, shape);
        long n = numel();
        for (long i = 0; i < n; i++) {
            out.setFlat(i, getFlat(i));
        }
        return out;
    }

    /** Throws unless {@code other} has the same shape, naming both shapes and {@code what}. */
    public void requireSameShape(Tensor other, String what) {
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException(what + ": shape mismatch " + Arrays.toString(shape) + " vs "
                    + Arrays.toString(other.shape));
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype;
    }

    static long numel(int[] s) {
        long n = 1;
        for (int d : s) {
            n *= d;
        }
        return n;
    }

    static int[] rowMajor(int[] s) {
        int[] st = new int[s.length];
        int acc = 1;
        for (int d = s.length - 1; d >= 0; d--) {
            st[d] = acc;
            acc *= Math.max(1, s[d]);
        }
        return st;
    }

    private static int[] checkShape(int[] shape) {
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }
}
