package dev.sixpd.nn.layers;

import dev.sixpd.nn.Accumulator;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Gemv;

/**
 * The LM head: {@code logits [N, V] = x [N, C] · Wᵀ}, no bias, W {@code [V, C]} — the token embedding itself when
 * tied (GPT-2), or its own {@code lm_head.weight} (LLaMA). Holds no buffers.
 */
public final class LmHead {
    public final Param weight;
    private final int C;
    private final int V;

    public LmHead(Param weight, int C, int V) {
        this.weight = weight;
        this.C = C;
        this.V = V;
    }

    /** Overwrites {@code logits [N, V]}. */
    public void forward(StepContext ctx, float[] logits, float[] x, int N) {
        ctx.gemm(false, true, N, V, C, 1f, x, 0, C, weight.working(), 0, C, 0f, logits, 0, V);
        ctx.act(logits, N * V);
    }

    /** OVERWRITES {@code dx [N, C] = dlogits · W}; ACCUMULATES {@code dW += dlogitsᵀ · x} (not when W is frozen). */
    public void backward(StepContext ctx, float[] dx, float[] dlogits, float[] x, int N) {
        ctx.gemm(false, false, N, C, V, 1f, dlogits, 0, V, weight.working(), 0, C, 0f, dx, 0, C);
        if (weight.trainable) {
            ctx.gemm(true, false, V, C, N, 1f, dlogits, 0, V, x, 0, C, 1f, weight.grad, 0, C);
        }
        ctx.act(dx, N * C);
    }

    /** One row, for generation: {@code logits [V] = x [C] · Wᵀ} through {@link Gemv} (FP32) ; overwrites. */
    public void decode(StepContext ctx, float[] logits, float[] x) {
        if (ctx.accumulator() != Accumulator.FP32) {
            forward(ctx, logits, x, 1);
            return;
        }
        Gemv.nt(logits, 0, x, 0, weight.working(), 0, C, V, C);
        ctx.act(logits, V);
    }
}
