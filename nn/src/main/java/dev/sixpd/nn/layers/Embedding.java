package dev.sixpd.nn.layers;

import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Encoder;

/**
 * The input: {@code x[b,t,:] = wte[token[b,t], :] + wpe[t, :]} with a learned position table, or
 * {@code wte[token[b,t], :]} alone when positions enter as RoPE inside attention. Holds no buffers.
 */
public final class Embedding {
    public final Param tokens;
    /** null with RoPE */
    public final Param positions;
    private final int C;

    public Embedding(Param tokens, Param positions, int C) {
        this.tokens = tokens;
        this.positions = positions;
        this.C = C;
    }

    /** {@code out [B·T, C]} from {@code ids [B·T]}; overwrites out. */
    public void forward(StepContext ctx, float[] out, int[] ids, int B, int T) {
        if (positions != null) {
            Encoder.forward(out, ids, tokens.working(), positions.working(), B, T, C);
        } else {
            Encoder.lookup(out, ids, tokens.working(), B * T, C);
        }
        ctx.act(out, B * T * C);
    }

    /**
     * ACCUMULATES the rows of {@code dout} into the gradients of the looked-up rows (and of the positions); a frozen
     * table gets nothing (the embedding is the first layer: no input gradient is needed).
     */
    public void backward(float[] dout, int[] ids, int B, int T) {
        boolean tokensFrozen = !tokens.trainable;
        if (tokensFrozen && (positions == null || !positions.trainable)) {
            return;
        }
        if (tokensFrozen || (positions != null && !positions.trainable)) {
            // one table frozen: the other's gradient alone, through a scratch table for the frozen one
            Param frozen = tokensFrozen ? tokens : positions;
            float[] sink = new float[frozen.size()];
            Encoder.backward(tokensFrozen ? sink : tokens.grad, tokensFrozen ? positions.grad : sink, dout, ids, B,
                    T, C);
        } else if (positions != null) {
            Encoder.backward(tokens.grad, positions.grad, dout, ids, B, T, C);
        } else {
            Encoder.lookupBackward(tokens.grad, dout, ids, B * T, C);
        }
    }

    /**
     * One token at position {@code pos}, for generation with a KV cache: {@code out [C] = wte[id] (+ wpe[pos])}
     * (RoPE models add nothing here: the position enters inside attention); overwrites out[0..C).
     */
    public void decode(StepContext ctx, float[] out, int id, int pos) {
        float[] wte = tokens.working();
        // out = wte[id, :] + wpe[pos, :]
        if (positions != null) {
            float[] wpe = positions.working();
            for (int c = 0; c < C; c++) {
                out[c] = wte[id * C + c] + wpe[pos * C + c];
            }
        } else {
            System.arraycopy(wte, id * C, out, 0, C);
        }
        ctx.act(out, C);
    }
}
