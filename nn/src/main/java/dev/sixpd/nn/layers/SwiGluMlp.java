package dev.sixpd.nn.layers;

import dev.sixpd.tensor.SwiGlu;

import java.util.Arrays;

/**
 * LLaMA's MLP: {@code out = down(silu(gate(x)) ⊙ up(x))}, gate and up C → H, down H → C, silu(g) = g·σ(g). Three
 * matrices where GELU's MLP has two, so H defaults to 8C/3 to keep the parameter count. Saved for backward: gate,
 * up and their product {@code [N, H]}. Not thread-safe.
 */
public final class SwiGluMlp implements Mlp {
    private final Linear gate;
    private final Linear up;
    private final Linear down;
    private final int H;
    private final float[] g;      // [N, H] saved: gate(x)
    private final float[] u;      // [N, H] saved: up(x)
    private final float[] h;      // [N, H] saved: silu(g) ⊙ u, down's input
    private final float[] dh;     // [N, H] scratch
    private final float[] dg;     // [N, H] scratch
    private final float[] du;     // [N, H] scratch

    public SwiGluMlp(Linear gate, Linear up, Linear down, Activations a, int layer, long N) {
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.H = up.out;
        g = a.saved(layer, "gate", N * H);
        u = a.saved(layer, "up", N * H);
        h = a.saved(layer, "silu(gate)·up", N * H);
        dh = a.scratch("dswiglu", N * H);
        dg = a.scratch("dgate", N * H);
        du = a.scratch("dup", N * H);
    }

    @Override
    public void forward(StepContext ctx, float[] out, float[] x, int N) {
        gate.forward(ctx, g, 0, H, x, N);
        ctx.act(g, N * H);
        up.forward(ctx, u, 0, H, x, N);
        ctx.act(u, N * H);
        SwiGlu.forward(h, g, u, N * H);
        ctx.act(h, N * H);
        down.forward(ctx, out, 0, down.out, h, N);
    }

    @Override
    public void backward(StepContext ctx, float[] dx, float[] dout, float[] x, int N) {
        Arrays.fill(dh, 0, N * H, 0f);
        down.backward(ctx, dh, dout, 0, down.out, h, N);
        ctx.act(dh, N * H);
        Arrays.fill(dg, 0, N * H, 0f);
        Arrays.fill(du, 0, N * H, 0f);
        SwiGlu.backward(dg, du, g, u, dh, N * H);
        ctx.act(dg, N * H);
        ctx.act(du, N * H);
        gate.backward(ctx, dx, dg, 0, H, x, N);
        up.backward(ctx, dx, du, 0, H, x, N);
    }

    @Override
    public void decode(StepContext ctx, float[] out, float[] x) {
        // out = down(silu(gate(x)) · up(x)), one row in row 0 of g, u and h
        gate.decode(ctx, g, 0, x);
        ctx.act(g, H);
        up.decode(ctx, u, 0, x);
        ctx.act(u, H);
        SwiGlu.forward(h, g, u, H);
        ctx.act(h, H);
        down.decode(ctx, out, 0, h);
    }
}
