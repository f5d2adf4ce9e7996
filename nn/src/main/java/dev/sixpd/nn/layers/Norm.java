package dev.sixpd.nn.layers;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.optim.Param;

import java.util.function.BiFunction;

/**
 * A normalisation over the channels of each row: {@link LayerNorm} or {@link RmsNorm}, chosen once when the model
 * is built. Each keeps the per-row statistics its backward needs.
 */
public interface Norm {
    /** {@code out [N, C] = norm(x [N, C])}; overwrites out, saves the row statistics. */
    void forward(float[] out, float[] x, int N);

    /**
     * A residual add and this norm: {@code res += x}, then {@code out = norm(res)} (FP32 activations only: no
     * rounding of res between the two). Same bits as {@code Elementwise.accumulate(res, x)} then {@link #forward};
     * a LayerNorm does both in one pass over each row.
     */
    void forwardResidual(float[] out, float[] res, float[] x, int N);

    /** ACCUMULATES {@code dx += ∂/∂x}, and the gain's (and bias's) gradients, from {@code dout}. */
    void backward(float[] dx, float[] dout, float[] x, int N);

    /**
     * The norm {@code c} asks for, with gain (and bias, may be null) and its statistics from {@code buffer}
     * ({@code name, values -> float[]}) sized for {@code N} rows.
     */
    static Norm create(GptConfig c, Param gain, Param bias, String name, BiFunction<String, Long, float[]> buffer,
                       int N) {
        return switch (c.norm()) {
            case LAYERNORM -> new LayerNorm(gain, bias, buffer.apply(name + " mean", (long) N),
                    buffer.apply(name + " rstd", (long) N), c.dModel());
            case RMSNORM -> new RmsNorm(gain, buffer.apply(name + " rstd", (long) N), c.dModel());
        };
    }
}
