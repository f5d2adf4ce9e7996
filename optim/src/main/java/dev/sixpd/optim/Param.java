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
 * <p>Under ZeRO-2 and ZeRO-3 ({@link ShardedAdamW}) a rank does not keep every tensor whole: {@link #grad} is a
 * zero-length array except while its layer's backward runs ({@link #holdGrad}), and under ZeRO-3 so are {@link #data}
 * and the working copy except while its layer runs ({@link #holdGathered}); the FP32 masters then live in the
 * optimizer's shard. {@link #size()} is the tensor's size either way.
 *
 * <p>Not thread-safe.
 */
public final class Param {
    /** GPT-2 style name, e.g. {@code h.0.attn.c_attn.weight}. */
    public final String name;
    /** The tensor's shape; the product is {@link #size()}. */
    private final int[] shape;
    /** A released tensor's arrays (ZeRO-2, ZeRO-3), and a frozen tensor's gradient. */
    private static final float[] RELEASED = new float[0];

    /** FP32 master values, row-major, length {@link #size()} (0 while released under ZeRO-3). */
    public float[] data;
    /** FP32 gradient, same layout as {@link #data}; backward accumulates into it (0 long while released, and when frozen). */
    public float[] grad;
    /** Whether the optimizer applies weight decay to this tensor. */
    public final boolean decay;
    /** Whether the optimizer updates it; a frozen parameter has no gradient buffer and no optimizer state. */
    public final boolean trainable;

    private final int size;
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
        this.size = (int) n;
        this.data = new float[size];
        this.grad = trainable ? new float[size] : RELEASED;
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
        return size;
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
        working = dtype == DType.FP32 || data.length == 0 ? data : new float[data.length];
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
        if (workingDtype == DType.FP32 || working == data) {
            return;
        }
        // round each master to the nearest bf16/fp16 (ties to even; fp16 gives ±Inf above 65504) and widen back:
        // exact; the bulk Vector API conversion, bit-identical to Half's scalar one (HalfTest)
        System.arraycopy(data, 0, working, 0, data.length);
        Half.roundTo(workingDtype, working, 0, data.length, false);
    }

    /**
     * ZeRO-2/3: backward's gradient is {@code g} (length {@link #size()}, the caller zeroes it), or with
     * {@code g.length == 0} released.
     */
    public void holdGrad(float[] g) {
        if (g.length != 0 && g.length != size) {
            throw new IllegalArgumentException(name + ": a gradient of " + g.length + " elements for " + size);
        }
        grad = g;
    }

    /** ZeRO-2/3: releases the gradient (a zero-length array until {@link #holdGrad}). */
    public void releaseGrad() {
        grad = RELEASED;
    }

    /**
     * ZeRO-3: the model computes with {@code values} (all-gathered from the ranks' shards, already rounded to the
     * working dtype): {@link #data} and {@link #working()} are both that array until {@link #releaseValues}. The
     * FP32 masters are the optimizer's shard meanwhile.
     */
    public void holdGathered(float[] values) {
        if (values.length != size) {
            throw new IllegalArgumentException(name + ": " + values.length + " gathered values for " + size);
        }
        data = values;
        working = values;
    }

    /**
     * ZeRO-3 before a checkpoint or a sample: {@link #data} becomes {@code masters} (the FP32 masters gathered whole)
     * and the working copy is rounded from them as usual.
     */
    public void holdMasters(float[] masters) {
        if (masters.length != size) {
            throw new IllegalArgumentException(name + ": " + masters.length + " gathered masters for " + size);
        }
        data = masters;
        working = data;
        setWorkingDtype(workingDtype);
    }

    /** ZeRO-3: releases the weights (zero-length arrays until {@link #holdGathered} or {@link #holdMasters}). */
    public void releaseValues() {
        data = RELEASED;
        working = RELEASED;
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
