package dev.sixpd.bench;

/**
 * Two plain-Java GEMMs that show what sixpd's Vector API kernel ({@link dev.sixpd.tensor.Gemm}) buys: the textbook
 * triple loop and a cache-blocked scalar loop. Same contract as {@code Gemm.gemm}: row-major
 * {@code C[M,N] = alpha·op(A)·op(B) + beta·C}, A stored {@code [K,M]} when {@code transA}, B stored {@code [N,K]}
 * when {@code transB}, {@code beta == 0} ignores what C held. Both run on the calling thread only and record
 * nothing to the ledger. Stateless; thread-safe.
 *
 * <ul>
 * <li>{@link #naive}: for each (i, j) a dot product over k. Row i of A is read contiguously, column j of B with a
 * stride of N floats (NN), so each k touches a new cache line of B: memory latency, not arithmetic, bounds it.</li>
 * <li>{@link #blocked}: the loops interchanged to i-k-j (an axpy of a row of B into a row of C, contiguous), with
 * B copied block by block into a contiguous {@code [KC, NC]} buffer that stays in L2 while every row of A
 * streams past it, and the C row segment in L1. No Vector API; C2's auto-vectorizer (SuperWord) may turn the
 * inner axpy into SIMD code on its own, which is exactly what plain Java gets without the Vector API. What it
 * lacks against sixpd's kernel: a register-blocked micro-kernel (every FMA here loads and stores C), packing of A.
 * </li>
 * </ul>
 */
public final class GemmBaselines {
    /** Rows of op(B) per packed block: the k extent. */
    static final int KC = 256;
    /** Columns of op(B) per packed block: KC·NC·4 B = 512 KiB, about half an L2 of recent cores. */
    static final int NC = 512;

    private GemmBaselines() {
    }

    /** The textbook triple loop: {@code C[i,j] = alpha·Σ_k op(A)[i,k]·op(B)[k,j] + beta·C[i,j]}. */
    public static void naive(boolean transA, boolean transB, int M, int N, int K, float alpha, float[] a, int lda,
            float[] b, int ldb, float beta, float[] c, int ldc) {
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                // sum = op(A)[i,:] · op(B)[:,j], in k order
                float sum = 0f;
                for (int k = 0; k < K; k++) {
                    float av = transA ? a[k * lda + i] : a[i * lda + k];
                    float bv = transB ? b[j * ldb + k] : b[k * ldb + j];
                    sum += av * bv;
                }
                int ci = i * ldc + j;
                c[ci] = beta == 0f ? alpha * sum : alpha * sum + beta * c[ci];
            }
        }
    }

    /**
     * Cache-blocked scalar GEMM: for each block of {@code NC} columns and {@code KC} rows of op(B), pack the block
     * contiguously, then for every row i of C add {@code alpha·op(A)[i,k]·Bblock[k,:]} into C's row segment.
     */
    public static void blocked(boolean transA, boolean transB, int M, int N, int K, float alpha, float[] a, int lda,
            float[] b, int ldb, float beta, float[] c, int ldc) {
        // C = beta·C first (beta 0: zero, ignoring NaNs C held), then accumulate alpha·op(A)·op(B) block by block
        for (int i = 0; i < M; i++) {
            int row = i * ldc;
            for (int j = 0; j < N; j++) {
                c[row + j] = beta == 0f ? 0f : beta * c[row + j];
            }
        }
        float[] bp = new float[Math.min(KC, Math.max(K, 1)) * Math.min(NC, Math.max(N, 1))];
        for (int jc = 0; jc < N; jc += NC) {
            int nc = Math.min(NC, N - jc);
            for (int pc = 0; pc < K; pc += KC) {
                int kc = Math.min(KC, K - pc);
                // pack bp[p, j] = op(B)[pc + p, jc + j], row-major [kc, nc]
                for (int p = 0; p < kc; p++) {
                    for (int j = 0; j < nc; j++) {
                        bp[p * nc + j] = transB ? b[(jc + j) * ldb + pc + p] : b[(pc + p) * ldb + jc + j];
                    }
                }
                for (int i = 0; i < M; i++) {
                    int crow = i * ldc + jc;
                    for (int p = 0; p < kc; p++) {
                        // C[i, jc:jc+nc] += alpha·op(A)[i, pc+p] · bp[p, :]  (contiguous axpy)
                        float aip = alpha * (transA ? a[(pc + p) * lda + i] : a[i * lda + pc + p]);
                        int brow = p * nc;
                        for (int j = 0; j < nc; j++) {
                            c[crow + j] += aip * bp[brow + j];
                        }
                    }
                }
            }
        }
    }
}
