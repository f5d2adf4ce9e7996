package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * RMSNorm vs a double reference (tolerance 2e-5 absolute + 2e-5 relative on outputs of order 1; rstd 1e-4
 * relative) and backward vs central differences of that reference (tolerance 1e-4·(1 + max|grad|) absolute +
 * 1e-3 relative).
 */
class RmsNormTest {
    private static final int[] CS = {1, 3, 7, 17, 67};

    private static double[] ref(double[] inp, double[] w, int N, int C, double eps, double[] rstd) {
        double[] out = new double[N * C];
        for (int n = 0; n < N; n++) {
            double ms = 0;
            for (int c = 0; c < C; c++) {
                ms += inp[n * C + c] * inp[n * C + c];
            }
            ms /= C;
            double rs = 1 / Math.sqrt(ms + eps);
            for (int c = 0; c < C; c++) {
                out[n * C + c] = inp[n * C + c] * rs * w[c];
            }
            if (rstd != null) {
                rstd[n] = rs;
            }
        }
        return out;
    }

    @Test
    void forwardMatchesReference() {
        Rng r = new Rng(110);
        for (float eps : new float[] {RmsNorm.EPS, 1e-6f}) {
            for (int N : new int[] {0, 1, 5, 13}) {
                for (int C : CS) {
                    // a non-zero mean: RMSNorm must not subtract it
                    float[] inp = randn(r, N * C, 1.5, 2.0);
                    float[] w = randn(r, C);
                    double[] rs = new double[N];
                    double[] ref = ref(d(inp), d(w), N, C, eps, rs);
                    for (boolean scalar : new boolean[] {false, true}) {
                        String what = "RmsNorm " + (scalar ? "scalar" : "vector") + " N=" + N + " C=" + C
                                + " eps=" + eps;
                        float[] out = new float[N * C], rstd = new float[N];
                        Ledger.Snapshot s0 = Ledger.snapshot();
                        if (scalar) {
                            RmsNorm.forwardScalar(out, rstd, inp, w, N, C, eps);
                        } else {
                            RmsNorm.forward(out, rstd, inp, w, N, C, eps);
                        }
                        assertEquals(RmsNorm.flopsForward(N, C),
                                Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.NORM), what);
                        close(what + " out", ref, out, 2e-5, 2e-5);
                        close(what + " rstd", rs, rstd, 1e-6, 1e-4);
                    }
                }
            }
        }
    }

    @Test
    void epsMattersForTinyRows() {
        // a row of zeros: rstd = 1/sqrt(eps) exactly as the formula says, output zeros (no NaN)
        float[] inp = new float[3], w = {1f, 2f, 3f}, out = new float[3], rstd = new float[1];
        RmsNorm.forward(out, rstd, inp, w, 1, 3, 1e-6f);
        assertEquals(1 / Math.sqrt(1e-6f), rstd[0], 1e-3);
        assertArrayEquals(new float[3], out);
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        Rng r = new Rng(111);
        for (int N : new int[] {1, 5}) {
            for (int C : CS) {
                float[] inp = randn(r, N * C, 0.5, 2.0);
                float[] w = randn(r, C);
                double[] dinp = d(inp), dw = d(w);
                double[] wl = d(randn(r, N * C));
                float[] dout = new float[N * C];
                for (int i = 0; i < dout.length; i++) {
                    dout[i] = (float) wl[i];
                }
                double[] gi = numGrad(() -> ref(dinp, dw, N, C, RmsNorm.EPS, null), dinp, wl);
                double[] gw = numGrad(() -> ref(dinp, dw, N, C, RmsNorm.EPS, null), dw, wl);
                for (boolean scalar : new boolean[] {false, true}) {
                    String what = "RmsNorm backward " + (scalar ? "scalar" : "vector") + " N=" + N + " C=" + C;
                    float[] out = new float[N * C], rstd = new float[N];
                    RmsNorm.forward(out, rstd, inp, w, N, C, RmsNorm.EPS);
                    float[] di0 = randn(r, N * C), dw0 = randn(r, C);
                    float[] di = di0.clone(), dww = dw0.clone();
                    Ledger.Snapshot s0 = Ledger.snapshot();
                    if (scalar) {
                        RmsNorm.backwardScalar(di, dww, dout, inp, w, rstd, N, C);
                    } else {
                        RmsNorm.backward(di, dww, dout, inp, w, rstd, N, C);
                    }
                    assertEquals(RmsNorm.flopsBackward(N, C),
                            Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.NORM), what);
                    close(what + " dinp", gi, delta(di, di0), 1e-4 * (1 + maxAbs(gi)), 1e-3);
                    close(what + " dweight", gw, delta(dww, dw0), 1e-4 * (1 + maxAbs(gw)), 1e-3);
                }
            }
        }
    }

    @Test
    void vectorAndScalarAgreeOnLargeRows() {
        // wide rows (many vectors plus a tail) where the two summation orders differ: agreement within float noise
        Rng r = new Rng(112);
        int N = 9, C = 1027;
        float[] inp = randn(r, N * C), w = randn(r, C), dout = randn(r, N * C);
        float[] o1 = new float[N * C], o2 = new float[N * C], r1 = new float[N], r2 = new float[N];
        RmsNorm.forward(o1, r1, inp, w, N, C, RmsNorm.EPS);
        RmsNorm.forwardScalar(o2, r2, inp, w, N, C, RmsNorm.EPS);
        close("forward", d(o2), o1, 1e-5, 1e-5);
        float[] di1 = new float[N * C], di2 = new float[N * C], dw1 = new float[C], dw2 = new float[C];
        RmsNorm.backward(di1, dw1, dout, inp, w, r1, N, C);
        RmsNorm.backwardScalar(di2, dw2, dout, inp, w, r1, N, C);
        close("dinp", d(di2), di1, 1e-5, 1e-4);
        close("dweight", d(dw2), dw1, 1e-4, 1e-4);
    }

    @Test
    void bitIdenticalForAnyThreadCount() {
        Rng r = new Rng(113);
        int N = 300, C = 67;
        float[] inp = randn(r, N * C), w = randn(r, C), dout = randn(r, N * C);
        float[] out = new float[N * C], rstd = new float[N];
        int saved = Parallel.threads();
        try {
            float[][] ref = null;
            for (int th : new int[] {1, 2, 3}) {
                Parallel.setThreads(th);
                RmsNorm.forward(out, rstd, inp, w, N, C, RmsNorm.EPS);
                float[] di = new float[N * C], dw = new float[C];
                RmsNorm.backward(di, dw, dout, inp, w, rstd, N, C);
                float[][] got = {out.clone(), rstd.clone(), di, dw};
                if (ref == null) {
                    ref = got;
                } else {
                    for (int k = 0; k < got.length; k++) {
                        assertArrayEquals(ref[k], got[k], "threads=" + th + " array " + k);
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void badInputIsRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> RmsNorm.forward(new float[6], new float[2], new float[5], new float[3], 2, 3, RmsNorm.EPS));
        assertThrows(IllegalArgumentException.class,
                () -> RmsNorm.forward(new float[6], new float[2], new float[6], new float[2], 2, 3, RmsNorm.EPS));
        assertThrows(IllegalArgumentException.class,
                () -> RmsNorm.forward(new float[6], new float[2], new float[6], new float[3], 2, 3, -1f));
        assertThrows(IllegalArgumentException.class,
                () -> RmsNorm.backward(new float[6], new float[2], new float[6], new float[6], new float[3],
                        new float[2], 2, 3));
    }
}
