package dev.sixpd.nn;

import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Gemm;
import dev.sixpd.tensor.GemmRounded;

/**
 * The accumulator of the model's weight matmuls (the Linear layers and the tied LM head; not attention's):
 * {@link #FP32} runs {@link Gemm} (FP32 accumulation, the default), anything else runs {@link GemmRounded} with the
 * running sum rounded to {@code dtype} after every {@code block} products, to show what a 16-bit accumulator costs.
 * Immutable.
 *
 * @param dtype the accumulator's dtype
 * @param block products added in FP32 before each rounding (>= 1; ignored for FP32)
 */
public record Accumulator(DType dtype, int block) {
    /** FP32 accumulation through {@link Gemm}. */
    public static final Accumulator FP32 = new Accumulator(DType.FP32, 1);

    public Accumulator {
        if (dtype == null || block < 1) {
            throw new IllegalArgumentException("accumulator needs a dtype and a block of >= 1 products, got " + dtype
                    + " and " + block);
        }
    }

    /** {@code C = alpha·op(A)·op(B) + beta·C} with this accumulator (arguments as {@link Gemm#gemm}). */
    public void gemm(boolean transA, boolean transB, int M, int N, int K, float alpha, float[] a, int aOff, int lda,
              float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        if (dtype == DType.FP32) {
            Gemm.gemm(transA, transB, M, N, K, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else {
            GemmRounded.gemm(dtype, block, transA, transB, M, N, K, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff,
                    ldc);
        }
    }

    @Override
    public String toString() {
        return dtype == DType.FP32 ? "FP32" : dtype + " every " + block + (block == 1 ? " product" : " products");
    }
}
