package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Gemv against a double reference (tolerance 1e-5·Σ|x·w| + 1e-6: float rounding of an in-long sum), the vector
 * kernel and its scalar twin bit for bit, 1 and 2 threads bit for bit, offsets and a row stride wider than in
 * left untouched, and the ledger's FLOPs.
 */
class GemvTest {
    /** {out, in, ldw}: odd sizes for the vector tails, a row stride wider than in, a 1 × 1. */
    private static final int[][] SHAPES = {{1, 1, 1}, {7, 5, 5}, {33, 37, 40}, {65, 130, 131}, {200, 384, 384}};

    @Test
    void matchesDoubleReferenceAndScalarTwin() {
        Rng rng = new Rng(17);
        for (int[] sh : SHAPES) {
            int out = sh[0], in = sh[1], ldw = sh[2];
            float[] w = new float[3 + out * ldw];
            float[] x = new float[2 + in];
            rng.fillNormal(w, 0, 1);
            rng.fillNormal(x, 0, 1);
            float[] y = new float[out + 4];
            float[] ys = new float[out + 4];
            java.util.Arrays.fill(y, 9f);
            java.util.Arrays.fill(ys, 9f);
            Gemv.nt(y, 1, x, 2, w, 3, ldw, out, in);
            Gemv.ntScalar(ys, 1, x, 2, w, 3, ldw, out, in);
            assertArrayEquals(ys, y, "vector vs scalar twin, bits, " + out + "×" + in);
            assertEquals(9f, y[0]);
            assertEquals(9f, y[out + 1]);
            for (int o = 0; o < out; o++) {
                double ref = 0, mag = 0;
                for (int i = 0; i < in; i++) {
                    ref += (double) x[2 + i] * w[3 + o * ldw + i];
                    mag += Math.abs((double) x[2 + i] * w[3 + o * ldw + i]);
                }
                assertEquals(ref, y[1 + o], 1e-5 * mag + 1e-6, "row " + o + " of " + out + "×" + in);
            }
        }
    }

    @Test
    void sameBitsForAnyThreadCount() {
        Rng rng = new Rng(3);
        // above Gemv's 2^20 weights per task, so 2 threads really split the rows
        int out = 6001, in = 193;
        float[] w = new float[out * in];
        float[] x = new float[in];
        rng.fillNormal(w, 0, 1);
        rng.fillNormal(x, 0, 1);
        int old = Parallel.threads();
        try {
            Parallel.setThreads(1);
            float[] y1 = new float[out];
            Gemv.nt(y1, 0, x, 0, w, 0, in, out, in);
            Parallel.setThreads(2);
            float[] y2 = new float[out];
            Gemv.nt(y2, 0, x, 0, w, 0, in, out, in);
            assertArrayEquals(y1, y2);
        } finally {
            Parallel.setThreads(old);
        }
    }

    @Test
    void ledgerAndErrors() {
        boolean on = Ledger.enabled();
        Ledger.setEnabled(true);
        try {
            Ledger.Snapshot before = Ledger.snapshot();
            Gemv.nt(new float[7], 0, new float[5], 0, new float[35], 0, 5, 7, 5);
            long f = Ledger.snapshot().minus(before).flops(Ledger.phase(), Ledger.Kind.MATMUL);
            assertEquals(Gemv.flops(7, 5), f);
            assertEquals(70, f);
        } finally {
            Ledger.setEnabled(on);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemv.nt(new float[7], 0, new float[5], 0, new float[34], 0, 5, 7, 5));
        assertTrue(e.getMessage().contains("runs past its array"), e.getMessage());
    }
}
