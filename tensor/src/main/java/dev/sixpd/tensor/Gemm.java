package dev.sixpd.tensor;

/**
 * General matrix multiply on row-major FP32 arrays: {@code C[M,N] = alpha·op(A)·op(B) + beta·C}.
 *
 * <p>{@code op(A)} is {@code [M,K]}; when {@code transA} the array holds A as {@code [K,M]} and op(A) = Aᵀ.
 * {@code op(B)} is {@code [K,N]}; when {@code transB} the array holds B as {@code [N,K]}. Element (r, c) of a
 * stored matrix X lives at {@code x[xOff + r·ldx + c]}. {@code beta == 0} overwrites C without reading it (NaNs
 * already in C are ignored), as BLAS does.
 *
 * <p>A Linear layer with weights {@code W[out,in]} uses: forward {@code Y = X·Wᵀ} (NT), backward
 * {@code dX += dY·W} (NN) and {@code dW += dYᵀ·X} (TN).
 *
 * <p>Ledger: {@code 2·M·N·K} FLOPs; bytes = A, B and C read once plus C written once (C is not read when
 * beta is 0).
 *
 * <p>Threads: work is split over blocks of C with {@link Parallel}; each element of C is reduced over K in an
 * order that depends only on the shapes, so results are bit-identical from run to run (and across thread
 * counts). Call from one thread at a time (the ledger is not thread-safe).
 */
public final class Gemm {
    private Gemm() {
    }

    /**
     * This host's K block (from the vector width: 256 at 16 lanes, 1024 at 8): a product with K above it sums its
     * K blocks into C one after another, so the blocking is part of the rounding (never of the thread count).
     */
    public static int kBlock() {
        return GemmKernel.KC;
    }

    /**
     * {@code C[M,N] = alpha·op(A)·op(B) + beta·C}, charged to the ledger as {@link Ledger.Kind#MATMUL}.
     * See the class comment for the layout of A, B and C.
     */
    public static void gemm(boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        gemm(Ledger.Kind.MATMUL, transA, transB, M, N, K, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /** Same as {@link #gemm(boolean, boolean, int, int, int, float, float[], int, int, float[], int, int, float,
     * float[], int, int)}, charging the ledger to {@code kind} (attention uses ATTENTION_MATMUL). */
    public static void gemm(Ledger.Kind kind, boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        check(transA, transB, M, N, K, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        record(kind, 1, M, N, K, beta);
        if (M == 0 || N == 0) {
            return;
        }
        GemmKernel.run(transA, transB, M, N, K, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * A batch of independent GEMMs (e.g. attention heads): matrix {@code i} of A starts at {@code aOff + i·strideA},
     * likewise B and C. Each is {@code C_i = alpha·op(A_i)·op(B_i) + beta·C_i}. The C matrices must not overlap.
     */
    public static void gemmBatched(Ledger.Kind kind, int batch, boolean transA, boolean transB, int M, int N, int K,
            float alpha, float[] a, int aOff, int lda, int strideA, float[] b, int bOff, int ldb, int strideB,
            float beta, float[] c, int cOff, int ldc, int strideC) {
        if (batch < 0) {
            throw new IllegalArgumentException("gemmBatched: batch must be >= 0, got " + batch);
        }
        if (batch == 0) {
            return;
        }
        check(transA, transB, M, N, K, a, aOff + (batch - 1) * (long) strideA, lda, b,
                bOff + (batch - 1) * (long) strideB, ldb, c, cOff + (batch - 1) * (long) strideC, ldc);
        check(transA, transB, M, N, K, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        record(kind, batch, M, N, K, beta);
        if (M == 0 || N == 0) {
            return;
        }
        GemmKernel.runBatched(batch, transA, transB, M, N, K, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB,
                beta, c, cOff, ldc, strideC);
    }

    /**
     * The scalar twin of {@link #gemm}: plain loops, float accumulation in k order, same semantics; the readable
     * reference. Does not record to the ledger and runs on the calling thread.
     */
    public static void gemmScalar(boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        check(transA, transB, M, N, K, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                // sum = op(A)[i,:] · op(B)[:,j]
                float sum = 0f;
                for (int k = 0; k < K; k++) {
                    float av = transA ? a[aOff + k * lda + i] : a[aOff + i * lda + k];
                    float bv = transB ? b[bOff + j * ldb + k] : b[bOff + k * ldb + j];
                    sum += av * bv;
                }
                // C[i,j] = alpha·sum + beta·C[i,j]; beta == 0 ignores what C held
                int ci = cOff + i * ldc + j;
                c[ci] = beta == 0f ? alpha * sum : alpha * sum + beta * c[ci];
            }
        }
    }

    private static void record(Ledger.Kind kind, int batch, int M, int N, int K, float beta) {
        long mnk = (long) M * N * K;
        long bytes = 4L * ((long) M * K + (long) K * N + (beta == 0f ? 1L : 2L) * M * N);
        Ledger.add(kind, 2L * mnk * batch, bytes * batch);
    }

    /** Validates shapes, leading dimensions and that every touched index lies inside its array. */
    static void check(boolean transA, boolean transB, int M, int N, int K, float[] a, long aOff, int lda,
            float[] b, long bOff, int ldb, float[] c, long cOff, int ldc) {
        if (M < 0 || N < 0 || K < 0) {
            throw new IllegalArgumentException("gemm: sizes must be >= 0, got M=" + M + " N=" + N + " K=" + K);
        }
        int aRows = transA ? K : M, aCols = transA ? M : K;
        int bRows = transB ? N : K, bCols = transB ? K : N;
        checkMatrix("A", transA, a, aOff, lda, aRows, aCols);
        checkMatrix("B", transB, b, bOff, ldb, bRows, bCols);
        checkMatrix("C", false, c, cOff, ldc, M, N);
    }

    private static void checkMatrix(String name, boolean trans, float[] x, long off, int ld, int rows, int cols) {
        String what = name + (trans ? " (stored transposed)" : "") + " [" + rows + "," + cols + "]";
        if (ld < cols || ld < 0) {
            throw new IllegalArgumentException("gemm: leading dimension of " + what + " is " + ld
                    + ", must be >= its row length " + cols);
        }
        if (rows == 0 || cols == 0) {
            return;
        }
        if (x == null) {
            throw new IllegalArgumentException("gemm: array for " + what + " is null");
        }
        long last = off + (long) (rows - 1) * ld + cols - 1;
        if (off < 0 || last >= x.length) {
            throw new IllegalArgumentException("gemm: " + what + " at offset " + off + " with leading dimension "
                    + ld + " needs indices up to " + last + " but the array has length " + x.length);
        }
    }
}
