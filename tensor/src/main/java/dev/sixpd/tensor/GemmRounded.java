package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMM whose running sum over K is stored in a 16-bit dtype: {@code C[M,N] = alpha·op(A)·op(B) + beta·C} where
 * each element's dot product is accumulated block by block,
 * <pre>
 *   sum = 0
 *   for each block of {@code block} consecutive k (the last may be shorter):
 *       part = Σ_{k in block} op(A)[i,k]·op(B)[k,j]     (FP32, k order, a rounded multiply then a rounded add)
 *       sum  = round_acc(sum + part)                       (FP32 add, then rounded to {@code acc})
 *   C[i,j] = alpha·sum + beta·C[i,j]                       (FP32; beta == 0 ignores C)
 * </pre>
 * It shows what a 16-bit accumulator costs, against {@link Gemm}'s FP32 one: {@code block = 1} rounds after every
 * product (a pure 16-bit accumulator, long dot products stall once the sum's ulp exceeds the products); a larger
 * block models matrix units that add {@code block} products in FP32 before writing the partial sum back in 16
 * bits. {@code acc = FP32} rounds nothing (FP32 accumulation in this blocked order).
 *
 * <p>Layout and transposes as {@link Gemm}. Slow by design (a row of C at a time, axpy over j): an experiment, not
 * a production kernel. Ledger: {@code 2·M·N·K} FLOPs charged to {@code MATMUL} plus the bytes of A, B and C, as
 * {@link Gemm}; the rounding is not counted. Threads: rows of C are split over {@link Parallel}; each element's
 * arithmetic is fixed by the shapes, so results are bit-identical across runs and thread counts, and equal to
 * {@link #gemmScalar}'s.
 */
public final class GemmRounded {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private GemmRounded() {
    }

    /**
     * {@code C = alpha·op(A)·op(B) + beta·C} with the running sum rounded to {@code acc} after every {@code block}
     * products (see the class comment). Vector API over the columns of C, rows in parallel.
     */
    public static void gemm(DType acc, int block, boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        checkBlock(block);
        Gemm.check(transA, transB, M, N, K, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        long bytes = 4L * ((long) M * K + (long) K * N + (beta == 0f ? 1L : 2L) * M * N);
        Ledger.add(Ledger.Kind.MATMUL, 2L * M * N * K, bytes);
        if (M == 0 || N == 0) {
            return;
        }
        // op(B) as contiguous rows [K, N], so each k is an axpy over a row of C
        float[] bk;
        int bkOff;
        int ldbk;
        if (transB) {
            bk = new float[K * N];
            for (int n = 0; n < N; n++) {
                for (int k = 0; k < K; k++) {
                    bk[k * N + n] = b[bOff + n * ldb + k];
                }
            }
            bkOff = 0;
            ldbk = N;
        } else {
            bk = b;
            bkOff = bOff;
            ldbk = ldb;
        }
        Parallel.forRange(M, 1, (from, to) -> {
            float[] sum = new float[N];
            float[] part = new float[N];
            for (int i = from; i < to; i++) {
                row(acc, block, transA, i, N, K, alpha, a, aOff, lda, bk, bkOff, ldbk, beta, c, cOff + i * ldc,
                        sum, part);
            }
        });
    }

    /** Row i of C: blocks of axpys into {@code part}, each block added into {@code sum} and rounded to acc. */
    private static void row(DType acc, int block, boolean transA, int i, int N, int K, float alpha, float[] a,
            int aOff, int lda, float[] bk, int bkOff, int ldbk, float beta, float[] c, int ci, float[] sum,
            float[] part) {
        java.util.Arrays.fill(sum, 0, N, 0f);
        int upper = S.loopBound(N);
        for (int k0 = 0; k0 < K; k0 += block) {
            int k1 = Math.min(K, k0 + block);
            java.util.Arrays.fill(part, 0, N, 0f);
            for (int k = k0; k < k1; k++) {
                // part[:] += op(A)[i,k] · op(B)[k,:] as a multiply then an add (no FMA), like the scalar twin
                float aik = transA ? a[aOff + k * lda + i] : a[aOff + i * lda + k];
                int bo = bkOff + k * ldbk;
                int j = 0;
                for (; j < upper; j += S.length()) {
                    FloatVector p = FloatVector.fromArray(S, part, j);
                    p.add(FloatVector.fromArray(S, bk, bo + j).mul(aik)).intoArray(part, j);
                }
                for (; j < N; j++) {
                    part[j] += aik * bk[bo + j];
                }
            }
            // sum[:] = round_acc(sum[:] + part[:])
            int j = 0;
            for (; j < upper; j += S.length()) {
                FloatVector.fromArray(S, sum, j).add(FloatVector.fromArray(S, part, j)).intoArray(sum, j);
            }
            for (; j < N; j++) {
                sum[j] += part[j];
            }
            Half.roundTo(acc, sum, 0, N, false);
        }
        // C[i,:] = alpha·sum + beta·C[i,:]
        for (int j = 0; j < N; j++) {
            c[ci + j] = beta == 0f ? alpha * sum[j] : alpha * sum[j] + beta * c[ci + j];
        }
    }

    /**
     * The scalar twin of {@link #gemm}: one element at a time, the same arithmetic in the same order, so the same
     * bits. Does not record to the ledger and runs on the calling thread.
     */
    public static void gemmScalar(DType acc, int block, boolean transA, boolean transB, int M, int N, int K,
            float alpha, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff,
            int ldc) {
        checkBlock(block);
        Gemm.check(transA, transB, M, N, K, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                float sum = 0f;
                for (int k0 = 0; k0 < K; k0 += block) {
                    // part = Σ over the block of op(A)[i,k]·op(B)[k,j]; sum = round_acc(sum + part)
                    float part = 0f;
                    for (int k = k0; k < Math.min(K, k0 + block); k++) {
                        float av = transA ? a[aOff + k * lda + i] : a[aOff + i * lda + k];
                        float bv = transB ? b[bOff + j * ldb + k] : b[bOff + k * ldb + j];
                        part += av * bv;
                    }
                    sum = Half.round(acc, sum + part, false);
                }
                int ci = cOff + i * ldc + j;
                c[ci] = beta == 0f ? alpha * sum : alpha * sum + beta * c[ci];
            }
        }
    }

    private static void checkBlock(int block) {
        if (block < 1) {
            throw new IllegalArgumentException("GemmRounded: the accumulation block must be >= 1 products, got "
                    + block);
        }
    }
}
