package dev.sixpd.nn.layers;

/** The feed-forward half of a block: {@link GeluMlp} or {@link SwiGluMlp}, chosen once when the model is built. */
public interface Mlp {
    /** {@code out [N, C] = mlp(x [N, C])}; overwrites out, keeps what backward needs. */
    void forward(StepContext ctx, float[] out, float[] x, int N);

    /** ACCUMULATES {@code dx [N, C]} and the parameter gradients from {@code dout [N, C]}. */
    void backward(StepContext ctx, float[] dx, float[] dout, float[] x, int N);

    /** One row, for generation: {@code out [C] = mlp(x [C])} with the linear layers' {@code decode}; overwrites. */
    void decode(StepContext ctx, float[] out, float[] x);
}
