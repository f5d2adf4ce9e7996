package dev.sixpd.nn.layers;

import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Dropout;

import java.util.function.LongSupplier;

/**
 * A LoRA adapter beside a frozen linear layer (Hu et al. 2021): A {@code [r, in]}, B {@code [out, r]}, scale
 * s = α/r, optional dropout on its input:
 * <pre>
 *   xd = drop(x)              [N, in]   (x itself without dropout)
 *   u  = xd · Aᵀ              [N, r]    saved
 *   y += s · u · Bᵀ           [N, out]  (into the layer's output, a column slice of wider rows as Linear's)
 * backward, from dy:
 *   dB += s · dyᵀ · u         [out, r]
 *   du  = s · dy · B          [N, r]
 *   dA += duᵀ · xd            [r, in]
 *   dx += drop'(du · A)       [N, in]
 * </pre>
 * B starts at zero, so at step 0 {@code y} is the base layer's exactly. Ledger: 4 matmuls of kind MATMUL, forward
 * {@code 2·N·r·(in + out)}, backward twice that. The dropout mask is a function of (seed, element) and so is
 * recomputed in backward, not stored; the seed comes from the model per forward (no dropout when it reports
 * {@link #NO_DROPOUT}). Not thread-safe.
 */
public final class LoraAdapter {
    /** What the seed supplier reports when dropout is off (evaluation, generation). */
    public static final long NO_DROPOUT = Long.MIN_VALUE;

    public final Param a;
    public final Param b;
    public final int r;
    public final float scale;
    public final float dropout;
    private final int in;
    private final int out;
    private final long salt;            // this adapter's share of the dropout seed
    private final LongSupplier seeds;

    private final float[] xd;   // [N, in]  saved: the dropped-out input (null without dropout)
    private final float[] u;    // [N, r]   saved: xd · Aᵀ
    private final float[] du;   // [N, r]   scratch
    private final float[] dxd;  // [N, in]  scratch: du · A before dropout's backward (null without dropout)
    private long seed = NO_DROPOUT;
    private float[] uRow;       // [r] decode

    /**
     * @param a      A {@code [r, in]}, @param b B {@code [out, r]} (the shapes passed: a dry model's tensors are empty)
     * @param name   the adapted module ({@code h.0.attn.c_attn}), naming its buffers
     * @param salt   a number distinct per adapter, mixed into the dropout seed
     * @param seeds  the model's dropout seed of the current forward, or {@link #NO_DROPOUT}
     */
    public LoraAdapter(Param a, Param b, int r, int in, int out, float scale, float dropout, String name, long salt,
                       LongSupplier seeds, Activations acts, int layer, long N) {
        this.a = a;
        this.b = b;
        this.r = r;
        this.in = in;
        this.out = out;
        this.scale = scale;
        this.dropout = dropout;
        this.salt = salt;
        this.seeds = seeds;
        String tail = name.replaceFirst("^(h|model\\.layers)\\.\\d+\\.", "");
        u = acts.saved(layer, "lora u (" + tail + ")", N * r);
        xd = dropout > 0 ? acts.saved(layer, "lora dropped input (" + tail + ")", N * in) : null;
        du = acts.scratch("lora du", N * r);
        dxd = dropout > 0 ? acts.scratch("lora dx (in " + in + ")", N * in) : null;
    }

    /** {@code y[n, yOff : yOff+out] += s · drop(x[n, :]) · Aᵀ · Bᵀ}. */
    public void forward(StepContext ctx, float[] y, int yOff, int ldy, float[] x, int N) {
        long s = seeds.getAsLong();
        seed = s == NO_DROPOUT || dropout == 0 ? NO_DROPOUT : s ^ salt * 0x9E3779B97F4A7C15L;
        float[] xin = x;
        if (seed != NO_DROPOUT) {
            Dropout.forward(xd, x, N * in, dropout, seed);
            xin = xd;
        } else if (xd != null) {
            System.arraycopy(x, 0, xd, 0, N * in);
        }
        // u [N, r] = xd · Aᵀ (NT), then y += s · u · Bᵀ (NT)
        ctx.gemm(false, true, N, r, in, 1f, xin, 0, in, a.working(), 0, in, 0f, u, 0, r);
        ctx.act(u, N * r);
        ctx.gemm(false, true, N, out, r, scale, u, 0, r, b.working(), 0, r, 1f, y, yOff, ldy);
    }

    /** ACCUMULATES dA, dB and {@code dx [N, in]} from {@code dy} (read at {@code dyOff + n·lddy}). */
    public void backward(StepContext ctx, float[] dx, float[] dy, int dyOff, int lddy, float[] x, int N) {
        float[] xin = xd != null ? xd : x;
        // dB [out, r] += s · dyᵀ · u  (TN)
        if (b.trainable) {
            ctx.gemm(true, false, out, r, N, scale, dy, dyOff, lddy, u, 0, r, 1f, b.grad, 0, r);
        }
        // du [N, r] = s · dy · B  (NN)
        ctx.gemm(false, false, N, r, out, scale, dy, dyOff, lddy, b.working(), 0, r, 0f, du, 0, r);
        ctx.act(du, N * r);
        // dA [r, in] += duᵀ · xd  (TN)
        if (a.trainable) {
            ctx.gemm(true, false, r, in, N, 1f, du, 0, r, xin, 0, in, 1f, a.grad, 0, in);
        }
        // dx += drop'(du · A)  (NN)
        if (seed == NO_DROPOUT) {
            ctx.gemm(false, false, N, in, r, 1f, du, 0, r, a.working(), 0, in, 1f, dx, 0, in);
        } else {
            ctx.gemm(false, false, N, in, r, 1f, du, 0, r, a.working(), 0, in, 0f, dxd, 0, in);
            Dropout.backward(dx, dxd, N * in, dropout, seed);
        }
    }

    /** One row, for generation (no dropout): {@code y[yOff : yOff+out] += s · (x · Aᵀ) · Bᵀ}. */
    public void decode(StepContext ctx, float[] y, int yOff, float[] x) {
        if (uRow == null) {
            uRow = new float[r];
        }
        // u = x · Aᵀ, then y += s · u · Bᵀ, both through the GEMM (r is small: no weight-bound matrix-vector case)
        ctx.gemm(false, true, 1, r, in, 1f, x, 0, in, a.working(), 0, in, 0f, uRow, 0, r);
        ctx.gemm(false, true, 1, out, r, scale, uRow, 0, r, b.working(), 0, r, 1f, y, yOff, out);
    }
}
