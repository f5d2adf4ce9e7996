package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The fused residual add + LayerNorm: the same bits as {@code Elementwise.accumulate} then
 * {@code LayerNorm.forward} (vector, scalar twin, 1 and 2 threads), the output against a double reference of
 * {@code LN(res + x)}, on odd sizes; the ledger's FLOPs those of the two unfused kernels.
 */
class LayerNormResidualTest {
    private static final int[][] SIZES = {{1, 1}, {3, 7}, {5, 37}, {9, 385}, {64, 1031}};

    @Test
    void sameBitsAsUnfusedAndMatchesReference() {
        Rng r = new Rng(41);
        int saved = Parallel.threads();
        try {
            for (int[] s : SIZES) {
                int N = s[0];
                int C = s[1];
                float[] res0 = randn(r, N * C, 0.3, 2);
                float[] x = randn(r, N * C, -0.1, 1);
                float[] w = randn(r, C, 1, 0.2);
                float[] b = randn(r, C, 0, 0.2);
                // unfused reference path
                float[] resU = res0.clone();
                float[] outU = new float[N * C];
                float[] meanU = new float[N];
                float[] rstdU = new float[N];
                Elementwise.accumulate(resU, x, N * C);
                LayerNorm.forward(outU, meanU, rstdU, resU, w, b, N, C);
                // double reference of LN(res + x)
                double[] ref = new double[N * C];
                for (int n = 0; n < N; n++) {
                    double m = 0;
                    for (int c = 0; c < C; c++) {
                        m += (double) res0[n * C + c] + x[n * C + c];
                    }
                    m /= C;
                    double v = 0;
                    for (int c = 0; c < C; c++) {
                        double dd = (double) res0[n * C + c] + x[n * C + c] - m;
                        v += dd * dd;
                    }
                    double rs = 1 / Math.sqrt(v / C + LayerNorm.EPS);
                    for (int c = 0; c < C; c++) {
                        ref[n * C + c] = ((double) res0[n * C + c] + x[n * C + c] - m) * rs * w[c] + b[c];
                    }
                }
                for (int variant = 0; variant < 3; variant++) {
                    String what = "LayerNorm.forwardResidual N=" + N + " C=" + C + (variant == 2 ? " scalar"
                            : " threads=" + (variant + 1));
                    float[] res = res0.clone();
                    float[] out = new float[N * C];
                    float[] mean = new float[N];
                    float[] rstd = new float[N];
                    if (variant == 2) {
                        LayerNorm.forwardResidualScalar(out, mean, rstd, res, x, w, b, N, C);
                    } else {
                        Parallel.setThreads(variant + 1);
                        LayerNorm.forwardResidual(out, mean, rstd, res, x, w, b, N, C);
                    }
                    if (variant < 2) {
                        assertArrayEquals(resU, res, what + ": res");
                        assertArrayEquals(outU, out, what + ": out");
                        assertArrayEquals(meanU, mean, what + ": mean");
                        assertArrayEquals(rstdU, rstd, what + ": rstd");
                    } else {
                        // the scalar twin is the scalar unfused path's bits (its sums run in another order)
                        float[] resS = res0.clone();
                        float[] outS = new float[N * C];
                        float[] meanS = new float[N];
                        float[] rstdS = new float[N];
                        Elementwise.accumulateScalar(resS, 0, x, 0, N * C);
                        LayerNorm.forwardScalar(outS, meanS, rstdS, resS, w, b, N, C);
                        assertArrayEquals(resS, res, what + ": res");
                        assertArrayEquals(outS, out, what + ": out");
                        assertArrayEquals(rstdS, rstd, what + ": rstd");
                    }
                    close(what, ref, out, 2e-5, 1e-4);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void ledgerCountsTheUnfusedFlops() {
        boolean was = Ledger.enabled();
        Ledger.setEnabled(true);
        try {
            int N = 3;
            int C = 7;
            Ledger.Snapshot before = Ledger.snapshot();
            LayerNorm.forwardResidual(new float[N * C], new float[N], new float[N], new float[N * C],
                    new float[N * C], new float[C], new float[C], N, C);
            Ledger.Snapshot d = Ledger.snapshot().minus(before);
            assertEquals((long) N * C, d.flops(Ledger.phase(), Ledger.Kind.ELEMENTWISE));
            assertEquals(LayerNorm.flopsForward(N, C), d.flops(Ledger.phase(), Ledger.Kind.NORM));
        } finally {
            Ledger.setEnabled(was);
        }
    }

    @Test
    void badSizesNameTheProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LayerNorm.forwardResidual(new float[6], new float[2], new float[2], new float[6], new float[5],
                        new float[3], new float[3], 2, 3));
        assertTrue(e.getMessage().contains("residual x 5 (need 6)"), e.getMessage());
    }
}
