package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The fused bias + GELU: the same bits as the unfused path it replaces (addBias, Gelu; zero fill, Gelu backward,
 * sumRows) for the vector kernel, its scalar twin and 1 or 2 threads; forward against a double reference,
 * backward (dh and db) against central differences of that reference, on odd sizes.
 */
class BiasGeluTest {
    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    private static final int[][] SIZES = {{0, 5}, {1, 1}, {3, 7}, {5, 37}, {17, 67}, {64, 1537}};

    @Test
    void forwardSameBitsAsUnfusedAndMatchesReference() {
        Rng r = new Rng(31);
        int saved = Parallel.threads();
        try {
            for (int[] s : SIZES) {
                int N = s[0];
                int H = s[1];
                float[] h0 = randn(r, N * H, 0, 2.5);
                float[] b = randn(r, H, 0, 1);
                // unfused reference path
                float[] hu = h0.clone();
                float[] outU = new float[N * H];
                Elementwise.addBias(hu, b, N, H);
                Gelu.forward(outU, hu, N * H);
                double[] ref = new double[N * H];
                for (int i = 0; i < N * H; i++) {
                    ref[i] = gelu((double) h0[i] + b[i % H]);
                }
                for (int variant = 0; variant < 3; variant++) {
                    String what = "BiasGelu.forward N=" + N + " H=" + H + (variant == 2 ? " scalar"
                            : " threads=" + (variant + 1));
                    float[] h = h0.clone();
                    float[] out = new float[N * H];
                    if (variant == 2) {
                        BiasGelu.forwardScalar(h, out, b, N, H);
                    } else {
                        Parallel.setThreads(variant + 1);
                        BiasGelu.forward(h, out, b, N, H);
                    }
                    assertArrayEquals(hu, h, what + ": h");
                    assertArrayEquals(outU, out, what + ": out");
                    close(what, ref, out, 1e-6, 1e-5);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void backwardSameBitsAsUnfusedAndMatchesFiniteDifferences() {
        Rng r = new Rng(32);
        int saved = Parallel.threads();
        try {
            for (int[] s : SIZES) {
                int N = s[0];
                int H = s[1];
                double[] h0 = d(randn(r, N * H, 0, 2.5));
                double[] b = d(randn(r, H, 0, 1));
                float[] h = new float[N * H];    // the forward's biased input, as the kernel keeps it
                for (int i = 0; i < N * H; i++) {
                    h[i] = (float) h0[i] + (float) b[i % H];
                }
                float[] dout = randn(r, N * H);
                float[] db0 = randn(r, H);
                // unfused reference path
                float[] dhU = new float[N * H];
                float[] dbU = db0.clone();
                Gelu.backward(dhU, h, dout, N * H);
                Reduce.sumRows(dbU, dhU, N, H);
                // finite differences of L = Σ dout·gelu(h0 + b) (small sizes: O((NH)²))
                double[] gh = null;
                double[] gb = null;
                if ((long) N * H <= 2000) {
                    java.util.function.Supplier<double[]> f = () -> {
                        double[] y = new double[N * H];
                        for (int i = 0; i < N * H; i++) {
                            y[i] = gelu(h0[i] + b[i % H]);
                        }
                        return y;
                    };
                    gh = numGrad(f, h0, d(dout));
                    gb = numGrad(f, b, d(dout));
                }
                for (int variant = 0; variant < 3; variant++) {
                    String what = "BiasGelu.backward N=" + N + " H=" + H + (variant == 2 ? " scalar"
                            : " threads=" + (variant + 1));
                    float[] dh = new float[N * H];
                    Arrays.fill(dh, Float.NaN); // overwritten, never read
                    float[] db = db0.clone();
                    if (variant == 2) {
                        BiasGelu.backwardScalar(dh, db, h, dout, N, H);
                    } else {
                        Parallel.setThreads(variant + 1);
                        BiasGelu.backward(dh, db, h, dout, N, H);
                    }
                    assertArrayEquals(dhU, dh, what + ": dh");
                    assertArrayEquals(dbU, db, what + ": db");
                    if (gh != null) {
                        close(what + " dh", gh, dh, 1e-5, 1e-4);
                        close(what + " db", gb, delta(db, db0), 1e-4, 1e-4);
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void badSizesNameTheProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BiasGelu.forward(new float[6], new float[6], new float[2], 2, 3));
        assertTrue(e.getMessage().contains("bias 2 (need 3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BiasGelu.backward(new float[5], new float[3], new float[6], new float[6], 2, 3));
        assertTrue(e.getMessage().contains("[N=2, H=3]"), e.getMessage());
    }
}
