package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;

import org.junit.jupiter.api.Test;

/**
 * GELU vs a double reference (tolerance 1e-6 absolute + 1e-5 relative) and backward vs central differences of
 * the reference (1e-5 absolute + 1e-4 relative); inputs span ±6 to reach both saturated ends.
 */
class GeluTest {
    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    @Test
    void forwardAndBackwardMatchReference() {
        Rng r = new Rng(20);
        for (int n : new int[] {0, 1, 3, 7, 17, 67, 1000, 70001}) {
            float[] x = randn(r, n, 0, 2.5);
            if (n > 2) {
                x[0] = 6f;
                x[1] = -6f;
                x[2] = 0f;
            }
            double[] ref = new double[n], dref = new double[n];
            float[] dout = randn(r, n);
            for (int i = 0; i < n; i++) {
                ref[i] = gelu(x[i]);
                double h = 1e-5;
                dref[i] = (gelu(x[i] + h) - gelu(x[i] - h)) / (2 * h) * dout[i];
            }
            for (boolean scalar : new boolean[] {false, true}) {
                String what = "Gelu " + (scalar ? "scalar" : "vector") + " n=" + n;
                float[] out = new float[n];
                float[] d0 = randn(r, n);
                float[] dx = d0.clone();
                if (scalar) {
                    Gelu.forwardScalar(out, x, n);
                    Gelu.backwardScalar(dx, x, dout, n);
                } else {
                    Gelu.forward(out, x, n);
                    Gelu.backward(dx, x, dout, n);
                }
                close(what, ref, out, 1e-6, 1e-5);
                close(what + " backward", dref, delta(dx, d0), 1e-5, 1e-4);
            }
        }
    }
}
