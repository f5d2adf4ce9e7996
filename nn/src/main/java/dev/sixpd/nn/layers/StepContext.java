package dev.sixpd.nn.layers;

import dev.sixpd.nn.Accumulator;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Half;

/**
 * The numerics of one forward or backward pass, passed down to every layer: the dtype activations are stored in
 * (FP32, or BF16/FP16 emulated by rounding each stored result to that grid) and the accumulator of the weight
 * matmuls. The trainer owns it; the model keeps none. Immutable.
 *
 * @param activations storage dtype of activations and activation gradients
 * @param accumulator how the weight matmuls (linear layers, LM head; not attention's) accumulate
 */
public record StepContext(DType activations, Accumulator accumulator) {
    /** FP32 activations, FP32 accumulation. */
    public static final StepContext FP32 = new StepContext(DType.FP32, Accumulator.FP32);

    public StepContext {
        if (activations == null || accumulator == null) {
            throw new IllegalArgumentException("a step context needs an activation dtype and an accumulator");
        }
    }

    /** Activations in {@code dtype}, FP32 accumulation. */
    public static StepContext of(DType dtype) {
        return new StepContext(dtype, Accumulator.FP32);
    }

    /**
     * Stores {@code a[0..n)} in the activation dtype: nothing for FP32; for BF16/FP16 rounds each value to that
     * grid (nearest, ties to even), as a 16-bit activation buffer would hold it.
     */
    public void act(float[] a, int n) {
        if (activations != DType.FP32) {
            Half.roundTo(activations, a, 0, n, false);
        }
    }

    /** {@code C = alpha·op(A)·op(B) + beta·C} through the accumulator (arguments as {@code Gemm.gemm}). */
    public void gemm(boolean transA, boolean transB, int M, int N, int K, float alpha, float[] a, int aOff, int lda,
                     float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        accumulator.gemm(transA, transB, M, N, K, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }
}
