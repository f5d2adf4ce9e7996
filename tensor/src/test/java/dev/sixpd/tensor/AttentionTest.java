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

    // ---- grouped-query attention -----------------------------------------------------------------------------

    /** {NH, KVH}: multi-head, two groups of two, multi-query, groups of two with an odd count of groups. */
    private static final int[][] GROUPS = {{4, 4}, {4, 2}, {4, 1}, {6, 3}};

    /**
     * Grouped-query attention in double, straight from the definition: query head h uses K/V head h / (NH/KVH),
     * qkv rows [q heads | k heads | v heads] of width (NH + 2·KVH)·HS.
     */
    static double[] refGqa(double[] qkv, int B, int T, int NH, int KVH, int HS, double[] attOut) {
        int W = (NH + 2 * KVH) * HS;
        double scale = 1 / Math.sqrt(HS);
        double[] out = new double[B * T * NH * HS];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int g = h / (NH / KVH);
                int kc = NH * HS + g * HS;
                int vc = (NH + KVH) * HS + g * HS;
                for (int t = 0; t < T; t++) {
                    double[] p = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t2 = 0; t2 <= t; t2++) {
                        double s = 0;
                        for (int i = 0; i < HS; i++) {
                            s += qkv[(b * T + t) * W + h * HS + i] * qkv[(b * T + t2) * W + kc + i];
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
                    for (int i = 0; i < HS; i++) {
                        double s = 0;
                        for (int t2 = 0; t2 <= t; t2++) {
                            s += p[t2] * qkv[(b * T + t2) * W + vc + i];
                        }
                        out[(b * T + t) * NH * HS + h * HS + i] = s;
                    }
                }
            }
        }
        return out;
    }

    @Test
    void gqaForwardMatchesReference() {
        Rng r = new Rng(53);
        for (int[] grp : GROUPS) {
            for (int T : new int[] {1, 7, 33}) {
                for (int HS : new int[] {5, 12}) {
                    int NH = grp[0], KVH = grp[1], B = 2, W = (NH + 2 * KVH) * HS;
                    float[] qkv = randn(r, B * T * W);
                    double[] attRef = new double[B * NH * T * T];
                    double[] ref = refGqa(d(qkv), B, T, NH, KVH, HS, attRef);
                    float[] outScalar = null;
                    for (boolean scalar : new boolean[] {true, false}) {
                        String what = "GQA " + (scalar ? "scalar" : "vector") + " T=" + T + " NH=" + NH + " KVH="
                                + KVH + " HS=" + HS;
                        float[] out = new float[B * T * NH * HS], att = new float[B * NH * T * T];
                        java.util.Arrays.fill(att, Float.NaN);
                        Ledger.Snapshot s0 = Ledger.snapshot();
                        if (scalar) {
                            Attention.forwardScalar(out, att, qkv, B, T, NH, KVH, HS);
                            outScalar = out;
                        } else {
                            Attention.forward(out, att, qkv, B, T, NH, KVH, HS);
                            close(what + " vector vs scalar", d(outScalar), out, 1e-5, 1e-4);
                        }
                        Ledger.Snapshot diff = Ledger.snapshot().minus(s0);
                        assertEquals(Attention.matmulFlopsForward(B, T, NH, KVH, HS),
                                diff.flops(Ledger.phase(), Ledger.Kind.ATTENTION_MATMUL), what + " ledger");
                        assertEquals(Attention.softmaxFlopsForward(B, T, NH, KVH, HS),
                                diff.flops(Ledger.phase(), Ledger.Kind.SOFTMAX), what + " ledger");
                        close(what + " out", ref, out, 1e-5, 1e-4);
                        close(what + " att", attRef, att, 1e-5, 1e-4);
                    }
                }
            }
        }
    }

    @Test
    void gqaBackwardMatchesFiniteDifferences() {
        Rng r = new Rng(54);
        for (int[] grp : GROUPS) {
            for (int T : new int[] {1, 7, 33}) {
                for (int HS : new int[] {5, 12}) {
                    int NH = grp[0], KVH = grp[1], B = T == 33 ? 1 : 2, W = (NH + 2 * KVH) * HS;
                    float[] qkv = randn(r, B * T * W);
                    double[] dq = d(qkv);
                    // L = Σ w·out, w random: dL/dout = w
                    double[] w = d(randn(r, B * T * NH * HS));
                    float[] dout = new float[w.length];
                    for (int i = 0; i < w.length; i++) {
                        dout[i] = (float) w[i];
                    }
                    double[] g = numGrad(() -> refGqa(dq, B, T, NH, KVH, HS, null), dq, w);
                    float[] out = new float[B * T * NH * HS], att = new float[B * NH * T * T];
                    Attention.forward(out, att, qkv, B, T, NH, KVH, HS);
                    for (boolean scalar : new boolean[] {false, true}) {
                        String what = "GQA backward " + (scalar ? "scalar" : "vector") + " T=" + T + " NH=" + NH
                                + " KVH=" + KVH + " HS=" + HS;
                        float[] d0 = randn(r, qkv.length);
                        float[] dqkv = d0.clone();
                        float[] datt = new float[att.length];
                        Ledger.Snapshot s0 = Ledger.snapshot();
                        if (scalar) {
                            Attention.backwardScalar(dqkv, datt, dout, qkv, att, B, T, NH, KVH, HS);
                        } else {
                            Attention.backward(dqkv, datt, dout, qkv, att, B, T, NH, KVH, HS);
                        }
                        Ledger.Snapshot diff = Ledger.snapshot().minus(s0);
                        assertEquals(Attention.matmulFlopsBackward(B, T, NH, KVH, HS),
                                diff.flops(Ledger.phase(), Ledger.Kind.ATTENTION_MATMUL), what);
                        assertEquals(Attention.softmaxFlopsBackward(B, T, NH, KVH, HS),
                                diff.flops(Ledger.phase(), Ledger.Kind.SOFTMAX), what);
                        close(what + " dqkv", g, delta(dqkv, d0), 1e-4 * (1 + maxAbs(g)), 1e-3);
                    }
                }
            }
        }
    }

    @Test
    void multiHeadIsBitIdenticalToTheKernelBeforeGroupedQuery() {
        // the (C, NH) methods and the (NH, KVH = NH, HS) methods vs a verbatim copy of the pre-GQA kernels
        Rng r = new Rng(55);
        for (int[] s : SHAPES) {
            int B = s[0], T = s[1], C = s[2], NH = s[3], HS = C / NH;
            float[] qkv = randn(r, B * T * 3 * C), dout = randn(r, B * T * C), d0 = randn(r, qkv.length);
            for (int path = 0; path < 4; path++) {
                boolean scalar = path >= 2;
                boolean gqa = path % 2 == 1;
                String what = "MHA " + (scalar ? "scalar" : "vector") + (gqa ? " via (NH, NH, HS)" : " via (C, NH)")
                        + " B=" + B + " T=" + T + " C=" + C + " NH=" + NH;
                float[] out0 = new float[B * T * C], att0 = new float[B * NH * T * T];
                float[] dqkv0 = d0.clone(), datt0 = new float[att0.length];
                float[] out = new float[B * T * C], att = new float[B * NH * T * T];
                float[] dqkv = d0.clone(), datt = new float[att.length];
                if (scalar) {
                    AttentionMhaSnapshot.forwardScalar(out0, att0, qkv, B, T, C, NH);
                    AttentionMhaSnapshot.backwardScalar(dqkv0, datt0, dout, qkv, att0, B, T, C, NH);
                    if (gqa) {
                        Attention.forwardScalar(out, att, qkv, B, T, NH, NH, HS);
                        Attention.backwardScalar(dqkv, datt, dout, qkv, att, B, T, NH, NH, HS);
                    } else {
                        Attention.forwardScalar(out, att, qkv, B, T, C, NH);
                        Attention.backwardScalar(dqkv, datt, dout, qkv, att, B, T, C, NH);
                    }
                } else {
                    AttentionMhaSnapshot.forward(out0, att0, qkv, B, T, C, NH);
                    AttentionMhaSnapshot.backward(dqkv0, datt0, dout, qkv, att0, B, T, C, NH);
                    if (gqa) {
                        Attention.forward(out, att, qkv, B, T, NH, NH, HS);
                        Attention.backward(dqkv, datt, dout, qkv, att, B, T, NH, NH, HS);
                    } else {
                        Attention.forward(out, att, qkv, B, T, C, NH);
                        Attention.backward(dqkv, datt, dout, qkv, att, B, T, C, NH);
                    }
                }
                assertArrayEquals(out0, out, what + " out");
                assertArrayEquals(att0, att, what + " att");
                assertArrayEquals(dqkv0, dqkv, what + " dqkv");
                assertArrayEquals(datt0, datt, what + " datt");
            }
        }
    }

    @Test
    void gqaBitIdenticalForAnyThreadCount() {
        Rng r = new Rng(56);
        int B = 2, T = 33, NH = 6, HS = 12;
        for (int KVH : new int[] {1, 2, 3}) {
            int W = (NH + 2 * KVH) * HS;
            float[] qkv = randn(r, B * T * W), dout = randn(r, B * T * NH * HS);
            int saved = Parallel.threads();
            try {
                float[][] ref = null;
                for (int th : new int[] {1, 2, 3}) {
                    Parallel.setThreads(th);
                    float[] out = new float[B * T * NH * HS], att = new float[B * NH * T * T];
                    float[] dqkv = new float[qkv.length], datt = new float[att.length];
                    Attention.forward(out, att, qkv, B, T, NH, KVH, HS);
                    Attention.backward(dqkv, datt, dout, qkv, att, B, T, NH, KVH, HS);
                    float[][] got = {out, att, dqkv, datt};
                    if (ref == null) {
                        ref = got;
                    } else {
                        for (int k = 0; k < got.length; k++) {
                            assertArrayEquals(ref[k], got[k], "KVH=" + KVH + " threads=" + th + " array " + k);
                        }
                    }
                }
            } finally {
                Parallel.setThreads(saved);
            }
        }
    }

    @Test
    void gqaLedgerFormulasAndErrors() {
        // K/V sharing saves no attention FLOPs: the counts equal multi-head attention's with C = NH·HS
        for (int KVH : new int[] {1, 2, 6}) {
            assertEquals(Attention.matmulFlopsForward(8, 256, 384, 6), Attention.matmulFlopsForward(8, 256, 6, KVH, 64));
            assertEquals(Attention.matmulFlopsBackward(8, 256, 384, 6),
                    Attention.matmulFlopsBackward(8, 256, 6, KVH, 64));
            assertEquals(Attention.softmaxFlopsForward(8, 256, 384, 6),
                    Attention.softmaxFlopsForward(8, 256, 6, KVH, 64));
            assertEquals(Attention.softmaxFlopsBackward(8, 256, 384, 6),
                    Attention.softmaxFlopsBackward(8, 256, 6, KVH, 64));
        }
        // NH not a multiple of KVH, no K/V heads, dqkv and qkv shorter than B·T·(NH + 2·KVH)·HS = 40
        assertThrows(IllegalArgumentException.class,
                () -> Attention.forward(new float[40], new float[100], new float[100], 1, 1, 4, 3, 10));
        assertThrows(IllegalArgumentException.class,
                () -> Attention.forward(new float[40], new float[100], new float[100], 1, 1, 4, 0, 10));
        assertThrows(IllegalArgumentException.class,
                () -> Attention.backward(new float[30], new float[4], new float[20], new float[60], new float[4], 1,
                        1, 2, 1, 10));
        assertThrows(IllegalArgumentException.class,
                () -> Attention.forwardScalar(new float[20], new float[2], new float[30], 1, 1, 2, 1, 10));
    }
}
