package dev.sixpd.tensor;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GemmRoundedTest {

    /** Random values already representable in {@code dtype} (16-bit inputs, as a matrix unit gets them). */
    private static float[] random(Random r, int n, DType dtype) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = Half.round(dtype, (float) r.nextGaussian(), false);
        }
        return x;
    }

    /**
     * The reference: the same blocked, rounded accumulation, with each block's partial sum computed exactly in
     * double and rounded to FP32 once before the add ({@code (float)(sum + part)} rounds the exact sum once).
     * Also returns Σ|a·b| per element in {@code mag}.
     */
    private static float[] reference(DType acc, int block, boolean tA, boolean tB, int M, int N, int K, float alpha,
                                     float[] a, float[] b, float beta, float[] c0, double[] mag) {
        float[] c = c0.clone();
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                float sum = 0f;
                double m = 0;
                for (int k0 = 0; k0 < K; k0 += block) {
                    double part = 0;
                    for (int k = k0; k < Math.min(K, k0 + block); k++) {
                        double av = tA ? a[k * M + i] : a[i * K + k];
                        double bv = tB ? b[j * K + k] : b[k * N + j];
                        part += av * bv;
                        m += Math.abs(av * bv);
                    }
                    sum = Half.round(acc, (float) ((double) sum + part), false);
                }
                mag[i * N + j] = m;
                c[i * N + j] = beta == 0f ? alpha * sum : alpha * sum + beta * c[i * N + j];
            }
        }
        return c;
    }

    @Test
    void matchesTheRoundedDoubleReferenceOnOddSizesAllTransposesAndBlocks() {
        Random r = new Random(7);
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {5, 13, 33}, {9, 19, 64}, {2, 1, 100}, {1, 17, 257}, {0, 3, 4},
            {3, 0, 4}, {4, 3, 0}};
        for (DType acc : DType.values()) {
            for (int[] s : shapes) {
                int M = s[0], N = s[1], K = s[2];
                for (int block : new int[]{1, 3, 8, K + 5}) {
                    for (int t = 0; t < 4; t++) {
                        boolean tA = (t & 1) != 0, tB = (t & 2) != 0;
                        // 16-bit inputs for a 16-bit accumulator; FP32 inputs rounded to FP16 as well, so every
                        // product is exact in FP32 (22 significant bits at most)
                        float[] a = random(r, M * K, acc == DType.BF16 ? DType.BF16 : DType.FP16);
                        float[] b = random(r, K * N, acc == DType.BF16 ? DType.BF16 : DType.FP16);
                        float[] c = random(r, M * N, DType.FP32);
                        float alpha = 0.75f, beta = t == 3 ? 0f : 0.5f;
                        double[] mag = new double[M * N];
                        float[] want = reference(acc, block, tA, tB, M, N, K, alpha, a, b, beta, c, mag);
                        float[] vec = c.clone();
                        float[] sca = c.clone();
                        GemmRounded.gemm(acc, block, tA, tB, M, N, K, alpha, a, 0, tA ? M : K, b, 0, tB ? K : N,
                                beta, vec, 0, N);
                        GemmRounded.gemmScalar(acc, block, tA, tB, M, N, K, alpha, a, 0, tA ? M : K, b, 0,
                                tB ? K : N, beta, sca, 0, N);
                        String what = acc + " block " + block + " M,N,K=" + Arrays.toString(s) + " tA=" + tA
                                + " tB=" + tB;
                        // the vector path does the scalar twin's arithmetic in the same order: the same bits
                        assertArrayEquals(sca, vec, what + ": vector vs scalar");
                        if (block == 1) {
                            // one exact product per add: the FP32 adder rounds the exact sum once, as the
                            // reference's cast does, so the result is exact
                            assertArrayEquals(want, vec, what);
                        } else {
                            // a block's FP32 sum differs from the exact one by at most γ_block·Σ|ab|; at a rounding
                            // boundary that moves the 16-bit sum by one of its ulps, in each of the ⌈K/block⌉ blocks
                            double u = Formats.of(acc).unitRoundoff();
                            int blocks = (K + block - 1) / block;
                            for (int e = 0; e < M * N; e++) {
                                double tol = alpha * blocks * (2 * u + block * 0x1p-23) * mag[e] + 1e-30;
                                assertEquals(want[e], vec[e], tol, what + " element " + e);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void aSixteenBitAccumulatorStallsWhereItsUlpExceedsTheAddend() {
        // Σ of 4096 ones: FP16's ulp at 2048 is 2, so 2048 + 1 ties to even 2048 and the sum stops there;
        // BF16's ulp at 256 is 2, it stops at 256; a block of 64 FP32 adds reaches 4096 (64·k is exact in FP16)
        int K = 4096;
        float[] ones = new float[K];
        Arrays.fill(ones, 1f);
        float[] c = new float[1];
        GemmRounded.gemm(DType.FP16, 1, false, false, 1, 1, K, 1f, ones, 0, K, ones, 0, 1, 0f, c, 0, 1);
        assertEquals(2048f, c[0]);
        GemmRounded.gemm(DType.BF16, 1, false, false, 1, 1, K, 1f, ones, 0, K, ones, 0, 1, 0f, c, 0, 1);
        assertEquals(256f, c[0]);
        GemmRounded.gemm(DType.FP16, 64, false, false, 1, 1, K, 1f, ones, 0, K, ones, 0, 1, 0f, c, 0, 1);
        assertEquals(4096f, c[0]);
        Gemm.gemm(false, false, 1, 1, K, 1f, ones, 0, K, ones, 0, 1, 0f, c, 0, 1);
        assertEquals(4096f, c[0]);
    }

    @Test
    void betaZeroIgnoresNaNsAndThreadCountsGiveTheSameBits() {
        Random r = new Random(3);
        int M = 37, N = 21, K = 50;
        float[] a = random(r, M * K, DType.FP16);
        float[] b = random(r, K * N, DType.FP16);
        float[] one = new float[M * N];
        Arrays.fill(one, Float.NaN);
        float[] two = one.clone();
        int old = Parallel.threads();
        try {
            Parallel.setThreads(1);
            GemmRounded.gemm(DType.FP16, 4, false, true, M, N, K, 1f, a, 0, K, b, 0, K, 0f, one, 0, N);
            Parallel.setThreads(3);
            GemmRounded.gemm(DType.FP16, 4, false, true, M, N, K, 1f, a, 0, K, b, 0, K, 0f, two, 0, N);
        } finally {
            Parallel.setThreads(old);
        }
        assertArrayEquals(one, two);
        for (float v : one) {
            assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void aBlockBelowOneOrBadShapesAreNamed() {
        float[] x = new float[4];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GemmRounded.gemm(DType.FP16, 0, false, false, 2, 2, 1, 1f, x, 0, 1, x, 0, 2, 0f, x, 0, 2));
        assertTrue(e.getMessage().contains("block"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> GemmRounded.gemmScalar(DType.FP16, 1, false, false, 3, 3, 3, 1f, x, 0, 3, x, 0, 3, 0f, x, 0, 3));
    }
}
