package dev.sixpd.optim;

import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Half;
import java.util.Arrays;
import java.util.Objects;

/**
 * One trainable tensor: its FP32 master values, its FP32 gradient, and the working-dtype copy the model computes
 * with.
 *
 * <p>The master values {@link #data} are what the optimizer updates; they stay FP32 whatever the working dtype.
 * {@link #working()} is what forward and backward read: for {@link DType#FP32} it is {@link #data} itself (no copy);
 * for {@link DType#BF16} and {@link DType#FP16} it is a separate {@code float[]} holding each master value rounded
 * to that 16-bit grid (round to nearest, ties to even), refreshed by {@link #syncWorking()} after every optimizer
 * step. The rounded values are kept as floats so the FP32 kernels can read them unchanged.
 *
 * <p>{@link #grad} is FP32; backward kernels accumulate (+=) into it, so call {@link #zeroGrad()} before each
 * step's first backward. A <b>frozen</b> parameter ({@code trainable == false}, the base model under LoRA) has no
 * gradient: {@link #grad} is empty, the optimizers keep no state for it, and the layer using it skips its dW matmul
 * (its input gradient dX still flows). Layout is row-major over {@link #shape}; linear weights are {@code [out, in]}.
 *
 * <p>Not thread-safe.
 */
public final class Param {
    /** GPT-2 style name, e.g. {@code h.0.attn.c_attn.weight}. */
    public final String name;
    /** The tensor's shape; the product is {@link #size()}. */
    private final int[] shape;
    /** FP32 master values, row-major, length {@link #size()}. */
    public final float[] data;
    /** FP32 gradient, same layout as {@link #data}; backward accumulates into it. Empty when frozen. */
    public final float[] grad;
    /** Whether the optimizer applies weight decay to this tensor. */
    public final boolean decay;
    /** Whether the optimizer updates it; a frozen parameter has no gradient buffer and no optimizer state. */
    public final boolean trainable;

    private static final float[] NO_GRAD = new float[0];

    private DType workingDtype = DType.FP32;
    private float[] working;

    /**
     * A zero-valued parameter of the given shape, FP32 working dtype.
     *
     * @param decay whether weight decay applies; {@link #defaultDecay} gives the usual GPT-2 choice
     */
    public Param(String name, int[] shape, boolean decay) {
        this(name, shape, decay, true);
    }

    /**
     * A zero-valued parameter, trainable or frozen (no gradient buffer: {@link #grad} is empty).
     *
     * @param decay whether weight decay applies (moot when frozen)
     */
    public Param(String name, int[] shape, boolean decay, boolean trainable) {
        this.name = Objects.requireNonNull(name, "name");
        this.shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(
                        "parameter " + name + ": negative dimension in shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("parameter " + name + " of shape " + Arrays.toString(shape)
                    + " has " + n + " elements, more than a Java array holds");
        }
        this.data = new float[(int) n];
        this.grad = trainable ? new float[(int) n] : NO_GRAD;
        this.decay = decay;
        this.trainable = trainable;
        this.working = data;
    }

    /** A parameter with the default weight-decay choice for its name and shape ({@link #defaultDecay}). */
    public Param(String name, int[] shape) {
        this(name, shape, defaultDecay(name, shape));
    }

    /**
     * The usual GPT-2 / nanoGPT choice, minus embeddings: decay the matrices of linear layers
     * ({@code *.weight} with 2 or more dimensions), not biases, LayerNorm gains, or the embeddings {@code wte},
     * {@code wpe} (pass {@code decay=true} explicitly to decay those).
     */
    public static boolean defaultDecay(String name, int[] shape) {
        if (shape.length < 2 || !name.endsWith(".weight")) {
            return false;
        }
        String base = name.substring(0, name.length() - ".weight".length());
        return !(base.equals("wte") || base.equals("wpe") || base.endsWith(".wte") || base.endsWith(".wpe"));
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public int size() {
        return data.length;
    }

    /** The dtype the model computes with. */
    public DType workingDtype() {
        return workingDtype;
    }

    /**
     * Switches the working dtype; for BF16/FP16 allocates the rounded copy and fills it from the masters. The
     * masters are untouched.
     */
    public void setWorkingDtype(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        workingDtype = dtype;
        working = dtype == DType.FP32 ? data : new float[data.length];
        syncWorking();
    }

    /**
     * The values the model computes with: {@link #data} itself for FP32, else the masters rounded to the working
     * dtype. Read-only for the model: writes to it are lost at the next {@link #syncWorking()}.
     */
    public float[] working() {
        return working;
    }

    /** Re-rounds the working copy from the masters (no-op for FP32). Call after each optimizer step. */
    public void syncWorking() {
        if (workingDtype == DType.FP32) {
            return;
        }
        // round each master to the nearest bf16/fp16 (ties to even; fp16 gives ±Inf above 65504) and widen back:
        // exact; the bulk Vector API conversion, bit-identical to Half's scalar one (HalfTest)
        System.arraycopy(data, 0, working, 0, data.length);
        Half.roundTo(workingDtype, working, 0, data.length, false);
    }

    /** Sets every gradient element to zero. */
    public void zeroGrad() {
        Arrays.fill(grad, 0f);
    }

    /** Bytes of FP32 master values actually allocated. */
    public long masterBytes() {
        return 4L * data.length;
    }

    /** The trainable parameters of {@code params}, in order: what the optimizer, clipping and scaling see. */
    public static java.util.List<Param> trainable(java.util.List<Param> params) {
        java.util.List<Param> t = new java.util.ArrayList<>();
        for (Param p : params) {
            if (p.trainable) {
                t.add(p);
            }
        }
        return java.util.Collections.unmodifiableList(t);
    }

    /** Bytes of FP32 gradient actually allocated (0 when frozen). */
    public long gradBytes() {
        return 4L * grad.length;
    }

    /** Bytes allocated for the separate working copy: 0 for FP32 (it is the master), 4 per element otherwise. */
    public long workingBytesAllocated() {
        return working == data ? 0 : 4L * working.length;
    }

    /** Bytes the working copy would take stored in its own dtype (2 per element for BF16/FP16, 4 for FP32). */
    public long workingBytesNominal() {
        return (long) workingDtype.bytes * data.length;
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + (decay ? " decay" : "") + (trainable ? "" : " frozen") + " "
                + workingDtype;
    }
}
