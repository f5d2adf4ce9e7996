package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API body behind {@link Gemm}: first, simple version (row-times-panel with op(B) packed to [K,N]).
 * Shapes are already validated by {@link Gemm}.
 */
final class GemmKernel {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int L = Vectors.LANES;

    private GemmKernel() {
    }

    static void run(boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        float[] bp = packB(transB, N, K, b, bOff, ldb);
        Parallel.forRange(M, 4, (from, to) -> rows(from, to, transA, N, K, alpha, a, aOff, lda, bp, beta, c, cOff,
                ldc));
    }

    static void runBatched(int batch, boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, int strideA, float[] b, int bOff, int ldb, int strideB,
            float beta, float[] c, int cOff, int ldc, int strideC) {
        Parallel.forRange(batch, 1, (from, to) -> {
            for (int p = from; p < to; p++) {
                float[] bp = packB(transB, N, K, b, bOff + p * strideB, ldb);
                rows(0, M, transA, N, K, alpha, a, aOff + p * strideA, lda, bp, beta, c, cOff + p * strideC, ldc);
            }
        });
    }

    /** Copies op(B) [K,N] into a contiguous row-major buffer. */
    private static float[] packB(boolean transB, int N, int K, float[] b, int bOff, int ldb) {
        float[] bp = new float[K * N];
        for (int k = 0; k < K; k++) {
            for (int j = 0; j < N; j++) {
                bp[k * N + j] = transB ? b[bOff + j * ldb + k] : b[bOff + k * ldb + j];
            }
        }
        return bp;
    }

    /** Rows [from,to) of C: row_i = Σ_k op(A)[i,k]·Bp[k,:], then C[i,:] = alpha·row_i + beta·C[i,:]. */
    private static void rows(int from, int to, boolean transA, int N, int K, float alpha, float[] a, int aOff,
            int lda, float[] bp, float beta, float[] c, int cOff, int ldc) {
        float[] row = new float[N];
        int nv = N - N % L;
        for (int i = from; i < to; i++) {
            java.util.Arrays.fill(row, 0f);
            for (int k = 0; k < K; k++) {
                float av = transA ? a[aOff + k * lda + i] : a[aOff + i * lda + k];
                FloatVector va = FloatVector.broadcast(S, av);
                int j = 0;
                for (; j < nv; j += L) {
                    FloatVector.fromArray(S, bp, k * N + j).fma(va, FloatVector.fromArray(S, row, j))
                            .intoArray(row, j);
                }
                for (; j < N; j++) {
                    row[j] = Math.fma(av, bp[k * N + j], row[j]);
                }
            }
            int ci = cOff + i * ldc;
            for (int j = 0; j < N; j++) {
                c[ci + j] = beta == 0f ? alpha * row[j] : alpha * row[j] + beta * c[ci + j];
            }
        }
    }
}
