package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.tensor.Gemm;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Test;

/**
 * The two baselines against a double-precision reference, on odd sizes that cross the blocked version's block edges
 * (K > KC, N > NC), every transpose combination, beta 0 (C holding NaN, which must be ignored) and beta ≠ 0, and
 * empty and size-1 dims; and against sixpd's own Gemm on the same inputs.
 *
 * <p>Tolerance: a float sum of K products errs by at most about {@code K·2^-24·Σ|a·b|}; the test allows
 * {@code 2·(K+2)·2^-24·(|alpha|·Σ_k|a_ik·b_kj| + |beta·c_ij|)} per element, plus 1e-30.
 */
class GemmBaselinesTest {
    private static final int[][] SIZES = {{37, 530, 300}, {1, 1, 1}, {5, 3, 0}, {0, 4, 3}, {4, 0, 2}, {17, 1, 259},
        {1, 515, 7}, {9, 13, 257}};

    @Test
    void naiveAndBlockedMatchTheDoubleReference() {
        Rng rng = new Rng(7);
        for (int[] s : SIZES) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0;
                boolean tb = (t & 2) != 0;
                for (float beta : new float[] {0f, 0.5f}) {
                    check(rng, s[0], s[1], s[2], ta, tb, 1.5f, beta);
                }
            }
        }
    }

    private static void check(Rng rng, int M, int N, int K, boolean ta, boolean tb, float alpha, float beta) {
        int lda = ta ? M : K;
        int ldb = tb ? K : N;
        float[] a = new float[M * K];
        float[] b = new float[K * N];
        float[] c0 = new float[M * N];
        rng.fillNormal(a, 0, 1);
        rng.fillNormal(b, 0, 1);
        rng.fillNormal(c0, 0, 1);
        if (beta == 0f && c0.length > 0) {
            c0[0] = Float.NaN; // beta 0 must ignore what C held
        }
        double[] ref = new double[M * N];
        double[] bound = new double[M * N];
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                double sum = 0;
                double abs = 0;
                for (int k = 0; k < K; k++) {
                    double av = ta ? a[k * lda + i] : a[i * lda + k];
                    double bv = tb ? b[j * ldb + k] : b[k * ldb + j];
                    sum += av * bv;
                    abs += Math.abs(av * bv);
                }
                double cij = beta == 0f ? 0 : (double) beta * c0[i * N + j];
                ref[i * N + j] = alpha * sum + cij;
                bound[i * N + j] = 2.0 * (K + 2) * 0x1p-24 * (Math.abs(alpha) * abs + Math.abs(cij)) + 1e-30;
            }
        }
        String what = "M=" + M + " N=" + N + " K=" + K + " " + (ta ? "T" : "N") + (tb ? "T" : "N") + " beta=" + beta;
        float[] naive = c0.clone();
        GemmBaselines.naive(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, naive, N);
        assertClose("naive " + what, ref, bound, naive);
        float[] blocked = c0.clone();
        GemmBaselines.blocked(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, blocked, N);
        assertClose("blocked " + what, ref, bound, blocked);
        float[] sixpd = c0.clone();
        Gemm.gemm(ta, tb, M, N, K, alpha, a, 0, lda, b, 0, ldb, beta, sixpd, 0, N);
        assertClose("sixpd Gemm " + what, ref, bound, sixpd);
    }

    private static void assertClose(String what, double[] ref, double[] bound, float[] got) {
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs(got[i] - ref[i]);
            int at = i;
            assertTrue(err <= bound[i], () -> what + ": element " + at + " is " + got[at] + ", reference " + ref[at]
                    + ", error " + err + " > bound " + bound[at]);
        }
    }
}
