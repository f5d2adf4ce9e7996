package dev.sixpd.nn.layers;

import dev.sixpd.tensor.BiasGelu;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Gelu;

import java.util.Arrays;

/**
 * GPT-2's MLP: {@code out = proj(gelu(fc(x)))}, fc C → H, proj H → C, GELU in its tanh form. Saved for backward:
 * the GELU's input and output {@code [N, H]}. With FP32 activations the fc bias and the GELU are one kernel
 * ({@link BiasGelu}), forward and backward. Not thread-safe.
 */
public final class GeluMlp implements Mlp {
    private final Linear fc;
    private final Linear proj;
    private final int H;
    private final float[] h;       // [N, H] saved: fc output, the GELU's input
    private final float[] hGelu;   // [N, H] saved: the GELU's output, proj's input
    private final float[] dh;      // [N, H] scratch
    private final float[] dhGelu;  // [N, H] scratch

    public GeluMlp(Linear fc, Linear proj, Activations a, int layer, long N) {
        this.fc = fc;
        this.proj = proj;
        this.H = fc.out;
        h = a.saved(layer, "fc (GELU input)", N * H);
        hGelu = a.saved(layer, "fc_gelu", N * H);
        dhGelu = a.scratch("dfc_gelu", N * H);
        dh = a.scratch("dfc", N * H);
    }

    /**
     * Whether the bias add and GELU run as one kernel ({@link BiasGelu}): with FP32 activations (a 16-bit run
     * rounds h between the two) and a trainable bias, no LoRA adapter on fc. Same bits either way.
     */
    private boolean fused(StepContext ctx) {
        return ctx.activations() == DType.FP32 && fc.fusable();
    }

    @Override
    public void forward(StepContext ctx, float[] out, float[] x, int N) {
        if (fused(ctx)) {
            // h = x·Wᵀ; then h += b and hGelu = gelu(h) in one pass
            fc.forwardMatmul(ctx, h, 0, H, x, N);
            BiasGelu.forward(h, hGelu, fc.bias.working(), N, H);
            proj.forward(ctx, out, 0, proj.out, hGelu, N);
            return;
        }
        fc.forward(ctx, h, 0, H, x, N);
        ctx.act(h, N * H);
        Gelu.forward(hGelu, h, N * H);
        ctx.act(hGelu, N * H);
        proj.forward(ctx, out, 0, proj.out, hGelu, N);
    }

    @Override
    public void backward(StepContext ctx, float[] dx, float[] dout, float[] x, int N) {
        Arrays.fill(dhGelu, 0, N * H, 0f);
        proj.backward(ctx, dhGelu, dout, 0, proj.out, hGelu, N);
        ctx.act(dhGelu, N * H);
        if (fused(ctx)) {
            // dh = gelu'(h)·dhGelu and db += Σ_n dh in one pass (dh overwritten: no zero fill)
            BiasGelu.backward(dh, fc.bias.grad, h, dhGelu, N, H);
            fc.backwardMatmul(ctx, dx, dh, 0, H, x, N);
            return;
        }
        Arrays.fill(dh, 0, N * H, 0f);
        Gelu.backward(dh, h, dhGelu, N * H);
        ctx.act(dh, N * H);
        fc.backward(ctx, dx, dh, 0, H, x, N);
    }

    @Override
    public void decode(StepContext ctx, float[] out, float[] x) {
        // out = proj(gelu(fc(x))), one row in row 0 of h and hGelu
        fc.decode(ctx, h, 0, x);
        ctx.act(h, H);
        Gelu.forward(hGelu, h, H);
        ctx.act(hGelu, H);
        proj.decode(ctx, out, 0, hGelu);
    }
}
