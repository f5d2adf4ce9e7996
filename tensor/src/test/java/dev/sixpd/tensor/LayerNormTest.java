package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * LayerNorm vs a double reference (tolerance 2e-5 absolute + 2e-5 relative on outputs of order 1) and backward
 * vs central differences of that reference (tolerance 1e-4·(1 + max|grad|) absolute + 1e-3 relative).
 */
class LayerNormTest {
    private static final int[] CS = {1, 3, 7, 17, 67};

    private static double[] ref(double[] inp, double[] w, double[] b, int N, int C, double[] mean, double[] rstd) {
        double[] out = new double[N * C];
        for (int n = 0; n < N; n++) {
            double m = 0;
            for (int c = 0; c < C; c++) {
                m += inp[n * C + c];
            }
            m /= C;
            double v = 0;
            for (int c = 0; c < C; c++) {
                v += (inp[n * C + c] - m) * (inp[n * C + c] - m);
            }
            v /= C;
            double rs = 1 / Math.sqrt(v + LayerNorm.EPS);
            for (int c = 0; c < C; c++) {
                out[n * C + c] = (inp[n * C + c] - m) * rs * w[c] + b[c];
            }
            if (mean != null) {
                mean[n] = m;
                rstd[n] = rs;
            }
        }
        return out;
    }

    @Test
    void forwardMatchesReference() {
        Rng r = new Rng(10);
        for (int N : new int[] {0, 1, 5, 13}) {
            for (int C : CS) {
                float[] inp = randn(r, N * C, 3.0, 2.0);
                float[] w = randn(r, C), b = randn(r, C);
                double[] m = new double[N], rs = new double[N];
                double[] ref = ref(d(inp), d(w), d(b), N, C, m, rs);
                for (boolean scalar : new boolean[] {false, true}) {
                    String what = "LayerNorm " + (scalar ? "scalar" : "vector") + " N=" + N + " C=" + C;
                    float[] out = new float[N * C], mean = new float[N], rstd = new float[N];
                    if (scalar) {
                        LayerNorm.forwardScalar(out, mean, rstd, inp, w, b, N, C);
                    } else {
                        LayerNorm.forward(out, mean, rstd, inp, w, b, N, C);
                    }
                    close(what + " out", ref, out, 2e-5, 2e-5);
                    close(what + " mean", m, mean, 1e-5, 1e-5);
                    close(what + " rstd", rs, rstd, 1e-5, 1e-4);
                }
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        Rng r = new Rng(11);
        for (int N : new int[] {1, 5}) {
            for (int C : CS) {
                float[] inp = randn(r, N * C, 1.0, 2.0);
                float[] w = randn(r, C), b = randn(r, C);
                double[] dinp = d(inp), dw = d(w), db = d(b);
                double[] wl = d(randn(r, N * C));
                float[] dout = new float[N * C];
                for (int i = 0; i < dout.length; i++) {
                    dout[i] = (float) wl[i];
                }
                double[] gi = numGrad(() -> ref(dinp, dw, db, N, C, null, null), dinp, wl);
                double[] gw = numGrad(() -> ref(dinp, dw, db, N, C, null, null), dw, wl);
                double[] gb = numGrad(() -> ref(dinp, dw, db, N, C, null, null), db, wl);
                for (boolean scalar : new boolean[] {false, true}) {
                    String what = "LayerNorm backward " + (scalar ? "scalar" : "vector") + " N=" + N + " C=" + C;
                    float[] out = new float[N * C], mean = new float[N], rstd = new float[N];
                    LayerNorm.forward(out, mean, rstd, inp, w, b, N, C);
                    float[] di0 = randn(r, N * C), dw0 = randn(r, C), db0 = randn(r, C);
                    float[] di = di0.clone(), dww = dw0.clone(), dbb = db0.clone();
                    if (scalar) {
                        LayerNorm.backwardScalar(di, dww, dbb, dout, inp, w, mean, rstd, N, C);
                    } else {
                        LayerNorm.backward(di, dww, dbb, dout, inp, w, mean, rstd, N, C);
                    }
                    close(what + " dinp", gi, delta(di, di0), 1e-4 * (1 + maxAbs(gi)), 1e-3);
                    close(what + " dweight", gw, delta(dww, dw0), 1e-4 * (1 + maxAbs(gw)), 1e-3);
                    close(what + " dbias", gb, delta(dbb, db0), 1e-4 * (1 + maxAbs(gb)), 1e-3);
                }
            }
        }
    }

    @Test
    void backwardIsBitIdenticalForAnyThreadCountAndLedgerCounts() {
        Rng r = new Rng(12);
        int N = 300, C = 67;
        float[] inp = randn(r, N * C), w = randn(r, C), b = randn(r, C), dout = randn(r, N * C);
        float[] out = new float[N * C], mean = new float[N], rstd = new float[N];
        int saved = Parallel.threads();
        try {
            float[][] ref = null;
            for (int th : new int[] {1, 2, 3}) {
                Parallel.setThreads(th);
                LayerNorm.forward(out, mean, rstd, inp, w, b, N, C);
                float[] di = new float[N * C], dw = new float[C], db = new float[C];
                Ledger.Snapshot s0 = Ledger.snapshot();
                LayerNorm.backward(di, dw, db, dout, inp, w, mean, rstd, N, C);
                assertEquals(LayerNorm.flopsBackward(N, C),
                        Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.NORM));
                float[][] got = {out.clone(), di, dw, db};
                if (ref == null) {
                    ref = got;
                } else {
                    for (int k = 0; k < 4; k++) {
                        assertArrayEquals(ref[k], got[k], "threads=" + th + " array " + k);
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
        assertThrows(IllegalArgumentException.class,
                () -> LayerNorm.forward(new float[6], new float[2], new float[2], new float[5], new float[3],
                        new float[3], 2, 3));
    }
}
