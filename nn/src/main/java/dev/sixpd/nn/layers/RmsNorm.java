package dev.sixpd.nn.layers;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Elementwise;

/**
 * RMSNorm over C channels (LLaMA): {@code y = x / sqrt(mean(x²) + ε) · g}, ε = 1e-5; no mean, no bias. Saves each
 * row's 1/rms ({@code [N]}) for backward. The arithmetic is {@link dev.sixpd.tensor.RmsNorm}'s.
 */
public final class RmsNorm implements Norm {
    private final Param gain;
    private final float[] gainSink;  // [C] where a frozen gain's gradient goes
    private final float[] rstd;  // [N]
    private final int C;

    public RmsNorm(Param gain, float[] rstd, int C) {
        this.gain = gain;
        this.rstd = rstd;
        this.C = C;
        this.gainSink = gain.trainable ? null : new float[C];
    }

    @Override
    public void forward(float[] out, float[] x, int N) {
        dev.sixpd.tensor.RmsNorm.forward(out, rstd, x, gain.working(), N, C, GptConfig.NORM_EPS);
    }

    /** Unfused: the add, then the norm. */
    @Override
    public void forwardResidual(float[] out, float[] res, float[] x, int N) {
        Elementwise.accumulate(res, x, N * C);
        forward(out, res, N);
    }

    @Override
    public void backward(float[] dx, float[] dout, float[] x, int N) {
        // a frozen gain's gradient goes to a scratch row, dropped (the kernel computes dx and dgain in one pass)
        float[] dgain = gain.trainable ? gain.grad : gainSink;
        dev.sixpd.tensor.RmsNorm.backward(dx, dgain, dout, x, gain.working(), rstd, N, C);
    }
}
