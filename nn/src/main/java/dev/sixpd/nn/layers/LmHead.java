package dev.sixpd.nn.layers;

import dev.sixpd.optim.Param;

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

    /** OVERWRITES {@code dx [N, C] = dlogits · W}; ACCUMULATES {@code dW += dlogitsᵀ · x}. */
    public void backward(StepContext ctx, float[] dx, float[] dlogits, float[] x, int N) {
        ctx.gemm(false, false, N, C, V, 1f, dlogits, 0, V, weight.working(), 0, C, 0f, dx, 0, C);
        ctx.gemm(true, false, V, C, N, 1f, dlogits, 0, V, x, 0, C, 1f, weight.grad, 0, C);
        ctx.act(dx, N * C);
    }
}
