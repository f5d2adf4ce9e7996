package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Softmax vs a double reference (tolerance 1e-6 absolute + 1e-5 relative on probabilities), masked entries exactly
 * zero, stable for inputs of 1e4; backward vs central differences (1e-5·(1+max) absolute + 1e-3 relative).
 */
class SoftmaxTest {
    private static double[] ref(double[] x, int rows, int cols, boolean causal) {
        double[] out = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            int n = causal ? r % cols + 1 : cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                max = Math.max(max, x[r * cols + j]);
            }
            double s = 0;
            for (int j = 0; j < n; j++) {
                s += Math.exp(x[r * cols + j] - max);
            }
            for (int j = 0; j < n; j++) {
                out[r * cols + j] = Math.exp(x[r * cols + j] - max) / s;
            }
        }
        return out;
    }

    @Test
    void forwardMatchesReferenceWithAndWithoutMask() {
        Rng r = new Rng(30);
        for (int cols : new int[] {1, 3, 7, 17, 67}) {
            for (int rows : new int[] {0, 1, cols, 2 * cols + 3}) {
                for (boolean causal : new boolean[] {false, true}) {
                    float[] x = randn(r, rows * cols, 0, 3);
                    double[] ref = ref(d(x), rows, cols, causal);
                    for (boolean scalar : new boolean[] {false, true}) {
                        String what = "Softmax " + (scalar ? "scalar" : "vector") + " [" + rows + "," + cols + "] causal="
                                + causal;
                        float[] out = new float[rows * cols];
                        java.util.Arrays.fill(out, Float.NaN);
                        Ledger.Snapshot s0 = Ledger.snapshot();
                        if (scalar) {
                            Softmax.forwardScalar(out, x, rows, cols, causal);
                        } else {
                            Softmax.forward(out, x, rows, cols, causal);
                        }
                        assertEquals(Softmax.flopsForward(rows, cols, causal),
                                Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.SOFTMAX));
                        close(what, ref, out, 1e-6, 1e-5);
                        if (causal) {
                            for (int row = 0; row < rows; row++) {
                                for (int j = row % cols + 1; j < cols; j++) {
                                    assertEquals(0f, out[row * cols + j], what + " masked entry " + row + "," + j);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void stableForHugeInputsInPlace() {
        int cols = 19;
        float[] x = new float[2 * cols];
        for (int j = 0; j < x.length; j++) {
            x[j] = 1e4f + j * 0.5f - (j % 3) * 2e4f;
        }
        double[] ref = ref(d(x), 2, cols, false);
        float[] y = x.clone();
        Softmax.forward(y, y, 2, cols, false);
        close("Softmax huge, in place", ref, y, 1e-6, 1e-5);
        for (float v : y) {
            assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        Rng r = new Rng(31);
        for (int cols : new int[] {1, 3, 7, 17, 67}) {
            for (boolean causal : new boolean[] {false, true}) {
                int rows = cols + 2;
                float[] x = randn(r, rows * cols);
                double[] dx = d(x);
                double[] w = d(randn(r, rows * cols));
                float[] dout = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    dout[i] = (float) w[i];
                }
                double[] g = numGrad(() -> ref(dx, rows, cols, causal), dx, w);
                float[] out = new float[rows * cols];
                Softmax.forward(out, x, rows, cols, causal);
                for (boolean scalar : new boolean[] {false, true}) {
                    float[] d0 = randn(r, rows * cols);
                    float[] di = d0.clone();
                    if (scalar) {
                        Softmax.backwardScalar(di, out, dout, rows, cols);
                    } else {
                        Softmax.backward(di, out, dout, rows, cols);
                    }
                    close("Softmax backward " + (scalar ? "scalar" : "vector") + " cols=" + cols + " causal=" + causal,
                            g, delta(di, d0), 1e-5 * (1 + maxAbs(g)), 1e-3);
                }
            }
        }
    }
}
