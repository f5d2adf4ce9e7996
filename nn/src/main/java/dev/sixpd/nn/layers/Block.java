package dev.sixpd.nn.layers;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Elementwise;

import java.util.Arrays;

/**
 * One transformer block, in one of two forms chosen when the model is built:
 * <pre>
 *   sequential (GPT-2, LLaMA):   res = x + attn(norm1(x));   out = res + mlp(norm2(res))
 *   parallel (GPT-J, PaLM):      out = x + attn(norm1(x)) + mlp(norm1(x))     (one norm)
 * </pre>
 * Saved for backward: the norm outputs, the residual between the halves, and the block output (kept per layer
 * even with recomputation: the next block's input, from which this one is recomputed). Not thread-safe.
 */
public final class Block {
    public final Norm norm1;
    public final SelfAttention attn;
    /** null in the parallel form */
    public final Norm norm2;
    public final Mlp mlp;
    private final boolean parallel;
    private final int C;

    private final float[] n1;     // [N, C] saved: norm1(x)
    private final float[] res;    // [N, C] saved: x + attn (sequential)
    private final float[] n2;     // [N, C] saved: norm2(res) (sequential)
    private final float[] mlpOut; // [N, C] scratch: the MLP's output before the sum (parallel)
    /** [N, C] kept: the block's output */
    public final float[] out;
    private final float[] dn;     // [N, C] scratch: gradient of a norm's output

    public Block(GptConfig c, Norm norm1, SelfAttention attn, Norm norm2, Mlp mlp, Activations a, int layer, long N) {
        this.norm1 = norm1;
        this.attn = attn;
        this.norm2 = norm2;
        this.mlp = mlp;
        this.parallel = c.block() == GptConfig.Block.PARALLEL;
        this.C = c.dModel();
        String ln1 = parallel ? "norm" : "ln_1";
        n1 = a.saved(layer, ln1, N * C);
        res = parallel ? null : a.saved(layer, "residual after attn", N * C);
        n2 = parallel ? null : a.saved(layer, "ln_2", N * C);
        mlpOut = parallel ? a.scratch("mlp out (parallel block)", N * C) : null;
        out = a.kept(layer, "residual after mlp (block output)", N * C);
        dn = a.scratch("dln", N * C);
    }

    /** Reads the block input {@code x [N, C]}, writes every saved buffer and {@link #out}. */
    public void forward(StepContext ctx, float[] x, int B, int T) {
        if (parallel) {
            forwardParallel(ctx, x, B, T);
        } else {
            forwardSequential(ctx, x, B, T);
        }
    }

    private void forwardSequential(StepContext ctx, float[] x, int B, int T) {
        int N = B * T;
        // res = x + attn(norm1(x))
        norm1.forward(n1, x, N);
        ctx.act(n1, N * C);
        attn.forward(ctx, res, n1, B, T);
        if (ctx.activations() == DType.FP32) {
            // res += x and n2 = norm2(res) in one pass over each row (same bits as the two steps below)
            norm2.forwardResidual(n2, res, x, N);
        } else {
            Elementwise.accumulate(res, x, N * C);
            ctx.act(res, N * C);
            norm2.forward(n2, res, N);
            ctx.act(n2, N * C);
        }
        // out = res + mlp(norm2(res))
        mlp.forward(ctx, out, n2, N);
        Elementwise.accumulate(out, res, N * C);
        ctx.act(out, N * C);
    }

    private void forwardParallel(StepContext ctx, float[] x, int B, int T) {
        int N = B * T;
        // out = attn(n) + mlp(n) + x, n = norm1(x)
        norm1.forward(n1, x, N);
        ctx.act(n1, N * C);
        attn.forward(ctx, out, n1, B, T);
        mlp.forward(ctx, mlpOut, n1, N);
        Elementwise.accumulate(out, mlpOut, N * C);
        Elementwise.accumulate(out, x, N * C);
        ctx.act(out, N * C);
    }

    /**
     * On entry {@code dres [N, C]} holds the gradient of {@link #out}; on exit, of the block input x. A residual
     * passes its gradient through unchanged, so each half's input gradient is accumulated straight into dres.
     */
    public void backward(StepContext ctx, float[] dres, float[] x, int B, int T) {
        int N = B * T;
        if (parallel) {
            // both halves read n1: their input gradients add up in dn
            Arrays.fill(dn, 0, N * C, 0f);
            mlp.backward(ctx, dn, dres, n1, N);
            attn.backward(ctx, dn, dres, n1, B, T);
            ctx.act(dn, N * C);
            norm1.backward(dres, dn, x, N);
            ctx.act(dres, N * C);
            return;
        }
        // MLP half: out = res + mlp(norm2(res))
        Arrays.fill(dn, 0, N * C, 0f);
        mlp.backward(ctx, dn, dres, n2, N);
        ctx.act(dn, N * C);
        norm2.backward(dres, dn, res, N);  // dres is now the gradient of res
        ctx.act(dres, N * C);
        // attention half: res = x + attn(norm1(x))
        Arrays.fill(dn, 0, N * C, 0f);
        attn.backward(ctx, dn, dres, n1, B, T);
        ctx.act(dn, N * C);
        norm1.backward(dres, dn, x, N);    // dres is now the gradient of x
        ctx.act(dres, N * C);
    }

    /**
     * One new token at position {@code pos}, for generation: the forward of one row with the attention half run
     * against the KV cache ({@link SelfAttention#decode}, arguments as there). Reads {@code x [C]}, writes row 0
     * of the block's buffers and of {@link #out}.
     */
    public void decode(StepContext ctx, float[] x, int pos, float[] k, float[] v, int[] blockTable, int pageSize) {
        norm1.forward(n1, x, 1);
        ctx.act(n1, C);
        if (parallel) {
            // out = attn(n) + mlp(n) + x, n = norm1(x)
            attn.decode(ctx, out, n1, pos, k, v, blockTable, pageSize);
            mlp.decode(ctx, mlpOut, n1);
            Elementwise.accumulate(out, mlpOut, C);
            Elementwise.accumulate(out, x, C);
            ctx.act(out, C);
            return;
        }
        // res = x + attn(norm1(x))
        attn.decode(ctx, res, n1, pos, k, v, blockTable, pageSize);
        Elementwise.accumulate(res, x, C);
        ctx.act(res, C);
        // out = res + mlp(norm2(res))
        norm2.forward(n2, res, 1);
        ctx.act(n2, C);
        mlp.decode(ctx, out, n2);
        Elementwise.accumulate(out, res, C);
        ctx.act(out, C);
    }

    /**
     * R tokens of R sequences at once ({@link SelfAttention#decodeBatch}, arguments as there): the block's forward
     * over the R rows {@code x [R, C]}, rows 0..R-1 of its buffers and of {@link #out}.
     */
    public void decodeBatch(StepContext ctx, float[] x, int R, int[] pos, float[] k, float[] v, int[][] tables,
                            int pageSize) {
        int N = R;
        norm1.forward(n1, x, N);
        ctx.act(n1, N * C);
        if (parallel) {
            // out = attn(n) + mlp(n) + x, n = norm1(x)
            attn.decodeBatch(ctx, out, n1, R, pos, k, v, tables, pageSize);
            mlp.forward(ctx, mlpOut, n1, N);
            Elementwise.accumulate(out, mlpOut, N * C);
            Elementwise.accumulate(out, x, N * C);
            ctx.act(out, N * C);
            return;
        }
        // res = x + attn(norm1(x))
        attn.decodeBatch(ctx, res, n1, R, pos, k, v, tables, pageSize);
        Elementwise.accumulate(res, x, N * C);
        ctx.act(res, N * C);
        // out = res + mlp(norm2(res))
        norm2.forward(n2, res, N);
        ctx.act(n2, N * C);
        mlp.forward(ctx, out, n2, N);
        Elementwise.accumulate(out, res, N * C);
        ctx.act(out, N * C);
    }
}
