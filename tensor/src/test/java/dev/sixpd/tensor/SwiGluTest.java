package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * SwiGLU vs a double reference (tolerance 1e-6 absolute + 1e-5 relative) and backward vs central differences of
 * the reference (1e-5 absolute + 1e-4 relative); gates span about ±8 plus the saturated ends ±120 and 0. The
 * vector kernels must give the scalar twins' exact bits.
 */
class SwiGluTest {
    private static double silu(double g) {
        return g / (1 + Math.exp(-g));
    }

    private static double[] ref(double[] gate, double[] up) {
        double[] out = new double[gate.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = silu(gate[i]) * up[i];
        }
        return out;
    }

    private static float[] gates(Rng r, int n) {
        float[] g = randn(r, n, 0, 3.0);
        if (n > 4) {
            g[0] = 120f;
            g[1] = -120f;
            g[2] = 0f;
            g[3] = -20f;
        }
        return g;
    }

    @Test
    void forwardAndBackwardMatchReference() {
        Rng r = new Rng(120);
        for (int n : new int[] {0, 1, 3, 7, 17, 67, 1000, 70001}) {
            float[] g = gates(r, n), u = randn(r, n, 0.3, 1.5), dout = randn(r, n);
            double[] dg = d(g), du = d(u);
            double[] ref = ref(dg, du);
            // the elementwise function has a diagonal Jacobian: one central difference per element
            double[] gref = new double[n], uref = new double[n];
            double h = 1e-5;
            for (int i = 0; i < n; i++) {
                gref[i] = (silu(dg[i] + h) - silu(dg[i] - h)) / (2 * h) * du[i] * dout[i];
                uref[i] = silu(dg[i]) * dout[i];
            }
            for (boolean scalar : new boolean[] {false, true}) {
                String what = "SwiGlu " + (scalar ? "scalar" : "vector") + " n=" + n;
                float[] out = new float[n];
                float[] dg0 = randn(r, n), du0 = randn(r, n);
                float[] dgate = dg0.clone(), dup = du0.clone();
                Ledger.Snapshot s0 = Ledger.snapshot();
                if (scalar) {
                    SwiGlu.forwardScalar(out, g, u, n);
                    SwiGlu.backwardScalar(dgate, dup, g, u, dout, n);
                } else {
                    SwiGlu.forward(out, g, u, n);
                    SwiGlu.backward(dgate, dup, g, u, dout, n);
                }
                assertEquals(SwiGlu.flopsForward(n) + SwiGlu.flopsBackward(n),
                        Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.ELEMENTWISE), what);
                close(what, ref, out, 1e-6, 1e-5);
                close(what + " dgate", gref, delta(dgate, dg0), 1e-5, 1e-4);
                close(what + " dup", uref, delta(dup, du0), 1e-5, 1e-4);
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferencesOfALoss() {
        // L = Σ w·out through the double reference, differentiated with respect to gate and up
        Rng r = new Rng(121);
        int n = 37;
        float[] g = gates(r, n), u = randn(r, n), wf = randn(r, n);
        double[] dg = d(g), du = d(u), w = d(wf);
        double[] gg = numGrad(() -> ref(dg, du), dg, w);
        double[] gu = numGrad(() -> ref(dg, du), du, w);
        float[] dgate = new float[n], dup = new float[n];
        SwiGlu.backward(dgate, dup, g, u, wf, n);
        close("dgate", gg, dgate, 1e-5 * (1 + maxAbs(gg)), 1e-4);
        close("dup", gu, dup, 1e-5 * (1 + maxAbs(gu)), 1e-4);
    }

    @Test
    void vectorAndScalarGiveTheSameBitsForAnyThreadCount() {
        Rng r = new Rng(122);
        int n = 70001;
        float[] g = gates(r, n), u = randn(r, n), dout = randn(r, n), dg0 = randn(r, n), du0 = randn(r, n);
        float[] out = new float[n], dgate = dg0.clone(), dup = du0.clone();
        SwiGlu.forwardScalar(out, g, u, n);
        SwiGlu.backwardScalar(dgate, dup, g, u, dout, n);
        int saved = Parallel.threads();
        try {
            for (int th : new int[] {1, 2, 3}) {
                Parallel.setThreads(th);
                float[] o = new float[n], dgv = dg0.clone(), duv = du0.clone();
                SwiGlu.forward(o, g, u, n);
                SwiGlu.backward(dgv, duv, g, u, dout, n);
                assertArrayEquals(out, o, "forward threads=" + th);
                assertArrayEquals(dgate, dgv, "dgate threads=" + th);
                assertArrayEquals(dup, duv, "dup threads=" + th);
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void badInputIsRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> SwiGlu.forward(new float[5], new float[4], new float[5], 5));
        assertThrows(IllegalArgumentException.class,
                () -> SwiGlu.backward(new float[5], new float[5], new float[5], new float[5], new float[4], 5));
        assertThrows(IllegalArgumentException.class,
                () -> SwiGlu.forwardScalar(new float[5], new float[5], new float[5], -1));
    }
}
