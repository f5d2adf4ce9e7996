package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Attention vs a double reference (out and att: 1e-5 absolute + 1e-4 relative) and backward vs central differences
 * of the double forward for a random linear functional of out (1e-4·(1+max|grad|) absolute + 1e-3 relative).
 */
class AttentionTest {
    /** {B, T, C, NH}: odd sizes, T = 1, hs = 1, hs not a multiple of the vector length, hs = 16 and 64. */
    private static final int[][] SHAPES = {
        {1, 1, 1, 1}, {2, 1, 6, 2}, {1, 5, 3, 1}, {2, 5, 7, 7}, {1, 13, 12, 3}, {1, 13, 17, 1}, {2, 5, 67, 1},
        {1, 13, 32, 2}, {1, 7, 128, 2}, {1, 50, 8, 2}, {1, 53, 12, 2}
    };

    static double[] ref(double[] qkv, int B, int T, int C, int NH, double[] attOut) {
        int hs = C / NH;
        double scale = 1 / Math.sqrt(hs);
        double[] out = new double[B * T * C];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                for (int t = 0; t < T; t++) {
                    double[] p = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t2 = 0; t2 <= t; t2++) {
                        double s = 0;
                        for (int i = 0; i < hs; i++) {
                            s += qkv[(b * T + t) * 3 * C + h * hs + i] * qkv[(b * T + t2) * 3 * C + C + h * hs + i];
                        }
                        p[t2] = s * scale;
                        max = Math.max(max, p[t2]);
                    }
                    double sum = 0;
                    for (int t2 = 0; t2 <= t; t2++) {
                        p[t2] = Math.exp(p[t2] - max);
                        sum += p[t2];
                    }
                    for (int t2 = 0; t2 <= t; t2++) {
                        p[t2] /= sum;
                        if (attOut != null) {
                            attOut[((b * NH + h) * T + t) * T + t2] = p[t2];
                        }
                    }
                    for (int i = 0; i < hs; i++) {
                        double s = 0;
                        for (int t2 = 0; t2 <= t; t2++) {
                            s += p[t2] * qkv[(b * T + t2) * 3 * C + 2 * C + h * hs + i];
                        }
                        out[(b * T + t) * C + h * hs + i] = s;
                    }
                }
            }
        }
        return out;
    }

    @Test
    void forwardMatchesReference() {
        Rng r = new Rng(50);
        for (int[] s : SHAPES) {
            int B = s[0], T = s[1], C = s[2], NH = s[3];
            float[] qkv = randn(r, B * T * 3 * C);
            double[] attRef = new double[B * NH * T * T];
            double[] ref = ref(d(qkv), B, T, C, NH, attRef);
            for (boolean scalar : new boolean[] {false, true}) {
                String what = "Attention " + (scalar ? "scalar" : "vector") + " B=" + B + " T=" + T + " C=" + C
                        + " NH=" + NH;
                float[] out = new float[B * T * C], att = new float[B * NH * T * T];
                java.util.Arrays.fill(att, Float.NaN);
                Ledger.Snapshot s0 = Ledger.snapshot();
                if (scalar) {
                    Attention.forwardScalar(out, att, qkv, B, T, C, NH);
                } else {
                    Attention.forward(out, att, qkv, B, T, C, NH);
                }
                Ledger.Snapshot diff = Ledger.snapshot().minus(s0);
                assertEquals(Attention.matmulFlopsForward(B, T, C, NH),
                        diff.flops(Ledger.phase(), Ledger.Kind.ATTENTION_MATMUL), what + " ledger");
                assertEquals(Attention.softmaxFlopsForward(B, T, C, NH),
                        diff.flops(Ledger.phase(), Ledger.Kind.SOFTMAX), what + " ledger");
                close(what + " out", ref, out, 1e-5, 1e-4);
                close(what + " att", attRef, att, 1e-5, 1e-4);
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        Rng r = new Rng(51);
        for (int[] s : SHAPES) {
            int B = s[0], T = s[1], C = s[2], NH = s[3];
            float[] qkv = randn(r, B * T * 3 * C);
            double[] dq = d(qkv);
            double[] w = d(randn(r, B * T * C));
            float[] dout = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                dout[i] = (float) w[i];
            }
            double[] g = numGrad(() -> ref(dq, B, T, C, NH, null), dq, w);
            float[] out = new float[B * T * C], att = new float[B * NH * T * T];
            Attention.forward(out, att, qkv, B, T, C, NH);
            for (boolean scalar : new boolean[] {false, true}) {
                String what = "Attention backward " + (scalar ? "scalar" : "vector") + " B=" + B + " T=" + T + " C="
                        + C + " NH=" + NH;
                float[] d0 = randn(r, qkv.length);
                float[] dqkv = d0.clone();
                float[] datt = new float[att.length];
                Ledger.Snapshot s0 = Ledger.snapshot();
                if (scalar) {
                    Attention.backwardScalar(dqkv, datt, dout, qkv, att, B, T, C, NH);
                } else {
                    Attention.backward(dqkv, datt, dout, qkv, att, B, T, C, NH);
                }
                assertEquals(Attention.matmulFlopsBackward(B, T, C, NH),
                        Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.ATTENTION_MATMUL), what);
                close(what + " dqkv", g, delta(dqkv, d0), 1e-4 * (1 + maxAbs(g)), 1e-3);
            }
        }
    }

    @Test
    void bitIdenticalForAnyThreadCount() {
        Rng r = new Rng(52);
        int B = 2, T = 33, C = 48, NH = 3;
        float[] qkv = randn(r, B * T * 3 * C), dout = randn(r, B * T * C);
        int saved = Parallel.threads();
        try {
            float[][] ref = null;
            for (int th : new int[] {1, 2, 3}) {
                Parallel.setThreads(th);
                float[] out = new float[B * T * C], att = new float[B * NH * T * T];
                float[] dqkv = new float[qkv.length], datt = new float[att.length];
                Attention.forward(out, att, qkv, B, T, C, NH);
                Attention.backward(dqkv, datt, dout, qkv, att, B, T, C, NH);
                float[][] got = {out, att, dqkv};
                if (ref == null) {
                    ref = got;
                } else {
                    for (int k = 0; k < 3; k++) {
                        assertArrayEquals(ref[k], got[k], "threads=" + th + " array " + k);
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void ledgerFormulasAndErrors() {
        // medium preset, one layer: 2·B·C·T·(T+1) forward, twice that backward
        assertEquals(2L * 8 * 384 * 256 * 257, Attention.matmulFlopsForward(8, 256, 384, 6));
        assertEquals(2 * Attention.matmulFlopsForward(8, 256, 384, 6), Attention.matmulFlopsBackward(8, 256, 384, 6));
        assertThrows(IllegalArgumentException.class,
                () -> Attention.forward(new float[10], new float[100], new float[30], 1, 1, 10, 3));
    }
}
