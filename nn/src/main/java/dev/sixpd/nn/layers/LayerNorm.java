package dev.sixpd.nn.layers;

import dev.sixpd.optim.Param;

/**
 * LayerNorm over C channels: {@code y = (x − mean) / sqrt(var + ε) · g + b}, ε = 1e-5. Saves each row's mean and
 * 1/std ({@code [N]}) for backward. Without a bias parameter the kernel adds an exact zero. The arithmetic is
 * {@link dev.sixpd.tensor.LayerNorm}'s.
 */
public final class LayerNorm implements Norm {
    private final Param gain;
    private final Param bias;
    private final float[] mean;   // [N]
    private final float[] rstd;   // [N]
    private final float[] zeros;  // [C] the missing bias
    private final float[] sink;   // [C] where the missing (or frozen) bias's gradient goes
    private final float[] gainSink; // [C] where a frozen gain's gradient goes
    private final int C;

    public LayerNorm(Param gain, Param bias, float[] mean, float[] rstd, int C) {
        this.gain = gain;
        this.bias = bias;
        this.mean = mean;
        this.rstd = rstd;
        this.C = C;
        this.zeros = bias == null ? new float[C] : null;
        this.sink = bias == null || !bias.trainable ? new float[C] : null;
        this.gainSink = gain.trainable ? null : new float[C];
    }

    @Override
    public void forward(float[] out, float[] x, int N) {
        dev.sixpd.tensor.LayerNorm.forward(out, mean, rstd, x, gain.working(), bias != null ? bias.working() : zeros,
                N, C);
    }

    @Override
    public void forwardResidual(float[] out, float[] res, float[] x, int N) {
        dev.sixpd.tensor.LayerNorm.forwardResidual(out, mean, rstd, res, x, gain.working(),
                bias != null ? bias.working() : zeros, N, C);
    }

    @Override
    public void backward(float[] dx, float[] dout, float[] x, int N) {
        float[] dbias = bias != null && bias.trainable ? bias.grad : sink;
        float[] dgain = gain.trainable ? gain.grad : gainSink;
        if (gainSink != null) {
            java.util.Arrays.fill(gainSink, 0f);
        }
        dev.sixpd.tensor.LayerNorm.backward(dx, dgain, dbias, dout, x, gain.working(), mean, rstd, N, C);
    }
}
