package dev.sixpd.nn.layers;

import dev.sixpd.nn.Accumulator;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Gemv;
import dev.sixpd.tensor.Elementwise;
import dev.sixpd.tensor.Reduce;

/**
 * A fully connected layer, PyTorch / llm.c layout: weight {@code [out, in]}, optional bias {@code [out]},
 * {@code y = x · Wᵀ + b}. Its output may be a column slice of wider rows (a q, k or v projection writing into the
 * fused qkv buffer): row {@code n} of y starts at {@code yOff + n·ldy}.
 *
 * <p>Ledger: the matmuls are kind MATMUL ({@code 2·N·in·out} forward, twice that backward: dX and dW), the bias
 * add and bias gradient ELEMENTWISE. A frozen weight (or bias) skips its gradient: backward is dX alone,
 * {@code 2·N·in·out}. Holds no buffers; not thread-safe (the kernels thread themselves).
 */
public final class Linear {
    public final Param weight;
    /** null without bias */
    public final Param bias;
    public final int in;
    public final int out;
    /** A LoRA adapter added to the output, or null. */
    public final LoraAdapter adapter;

    public Linear(Param weight, Param bias, int in, int out) {
        this(weight, bias, in, out, null);
    }

    /** With a LoRA adapter ({@code y = x·Wᵀ + b + s·drop(x)·Aᵀ·Bᵀ}), or none when {@code adapter} is null. */
    public Linear(Param weight, Param bias, int in, int out, LoraAdapter adapter) {
        this.weight = weight;
        this.bias = bias;
        this.in = in;
        this.out = out;
        this.adapter = adapter;
    }

    /** {@code y[n, yOff : yOff+out] = x[n, :] · Wᵀ + b} for {@code n < N}, x {@code [N, in]}; overwrites. */
    public void forward(StepContext ctx, float[] y, int yOff, int ldy, float[] x, int N) {
        forwardMatmul(ctx, y, yOff, ldy, x, N);
        if (bias != null) {
            Elementwise.addBias(y, yOff, ldy, bias.working(), N, out);
        }
        if (adapter != null) {
            adapter.forward(ctx, y, yOff, ldy, x, N);
        }
    }

    /** The forward without the bias and the adapter: {@code y = x · Wᵀ} (a fused kernel after it adds the bias). */
    public void forwardMatmul(StepContext ctx, float[] y, int yOff, int ldy, float[] x, int N) {
        // y = x · Wᵀ (NT: the weight's rows are the output channels)
        ctx.gemm(false, true, N, out, in, 1f, x, 0, in, weight.working(), 0, in, 0f, y, yOff, ldy);
    }

    /**
     * ACCUMULATES {@code dx [N, in] += dy · W}, {@code dW += dyᵀ · x}, {@code db += Σ_n dy[n, :]} (rows in order,
     * so bit-identical for any thread count); dy is read at {@code dyOff + n·lddy}.
     */
    public void backward(StepContext ctx, float[] dx, float[] dy, int dyOff, int lddy, float[] x, int N) {
        backwardMatmul(ctx, dx, dy, dyOff, lddy, x, N);
        if (bias != null && bias.trainable) {
            Reduce.sumRows(bias.grad, dy, dyOff, lddy, N, out);
        }
        if (adapter != null) {
            adapter.backward(ctx, dx, dy, dyOff, lddy, x, N);
        }
    }

    /**
     * Whether {@link #forwardMatmul} and {@link #backwardMatmul} with the bias handled by a fused kernel compute this
     * layer: no adapter, and a trainable bias (LoRA and frozen layers take {@link #forward}/{@link #backward}).
     */
    public boolean fusable() {
        return adapter == null && bias != null && bias.trainable;
    }

    /** The backward without the bias gradient and the adapter (a fused kernel before it accumulated the bias's): dx and dW. */
    public void backwardMatmul(StepContext ctx, float[] dx, float[] dy, int dyOff, int lddy, float[] x, int N) {
        // dx [N, in] += dy [N, out] · W [out, in]  (NN)
        ctx.gemm(false, false, N, in, out, 1f, dy, dyOff, lddy, weight.working(), 0, in, 1f, dx, 0, in);
        // dW [out, in] += dyᵀ [out, N] · x [N, in]  (TN), unless W is frozen
        if (weight.trainable) {
            ctx.gemm(true, false, out, in, N, 1f, dy, dyOff, lddy, x, 0, in, 1f, weight.grad, 0, in);
        }
    }

    /**
     * One row, for generation: {@code y[yOff : yOff+out] = x[0 : in] · Wᵀ + b}; overwrites. With FP32 accumulation
     * a {@link Gemv} (each weight read once: at one row the GEMM's packing would triple the weight traffic),
     * otherwise the forward at N = 1 through the context's accumulator.
     */
    public void decode(StepContext ctx, float[] y, int yOff, float[] x) {
        if (ctx.accumulator() != Accumulator.FP32) {
            forward(ctx, y, yOff, out, x, 1);
            return;
        }
        // y[o] = Σ_i x[i]·W[o, i] (+ b[o])
        Gemv.nt(y, yOff, x, 0, weight.working(), 0, in, out, in);
        if (bias != null) {
            Elementwise.addBias(y, yOff, out, bias.working(), 1, out);
        }
        if (adapter != null) {
            adapter.decode(ctx, y, yOff, x);
        }
    }
}
