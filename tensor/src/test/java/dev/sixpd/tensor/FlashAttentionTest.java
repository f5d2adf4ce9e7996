package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * FlashAttention against a double-precision reference written here for grouped-query attention (forward out and
 * lse: 1e-5 absolute + 1e-4 relative; backward dqkv: 1e-4·(1 + max|grad|) absolute + 1e-3 relative), that
 * reference's backward against central differences, the flash backward itself against central differences on small
 * shapes, the naive {@link Attention} kernel for KVH = NH (same tolerances), the scalar twins against the vector
 * kernels, bit-identical results for 1 and 2 threads, causality (a row's bits do not move when later positions
 * change), and the ledger.
 */
class FlashAttentionTest {
    private static final int BL = FlashAttention.BLOCK;
    /** (NH, KVH): multi-head, grouped-query (2 and 3 heads a group), multi-query. */
    private static final int[][] HEADS = {{1, 1}, {4, 4}, {4, 2}, {4, 1}, {6, 3}};
    /** Odd lengths and the block's edges. */
    private static final int[] TS = {1, 2, 33, BL - 1, BL, BL + 1, 100, 2 * BL + 1};
    private static final int[] HSS = {5, 12, 64};

    /** {B, T, NH, KVH, HS}: every T with every head pair, head sizes in turn; B = 2 on some. */
    static List<int[]> shapes() {
        List<int[]> s = new ArrayList<>();
        int i = 0;
        for (int T : TS) {
            for (int[] h : HEADS) {
                int HS = HSS[i % HSS.length];
                // keep the double reference cheap: 64-wide heads only up to 4 query heads at the longest T
                if (T > 100 && HS == 64 && h[0] > 4) {
                    HS = 12;
                }
                s.add(new int[] {1 + i % 2, T, h[0], h[1], HS});
                i++;
            }
        }
        return s;
    }

    static int width(int NH, int KVH, int HS) {
        return (NH + 2 * KVH) * HS;
    }

    /** Double reference forward: out [B, T, NH·HS]; lse [B, NH, T] when not null. */
    static double[] ref(double[] x, int B, int T, int NH, int KVH, int HS, double[] lse) {
        int W = width(NH, KVH, HS), C = NH * HS, G = NH / KVH;
        double scale = 1 / Math.sqrt(HS);
        double[] out = new double[B * T * C];
        double[] p = new double[T];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int g = h / G;
                for (int t = 0; t < T; t++) {
                    int q = (b * T + t) * W + h * HS;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t2 = 0; t2 <= t; t2++) {
                        int k = (b * T + t2) * W + NH * HS + g * HS;
                        double s = 0;
                        for (int d = 0; d < HS; d++) {
                            s += x[q + d] * x[k + d];
                        }
                        p[t2] = s * scale;
                        max = Math.max(max, p[t2]);
                    }
                    double sum = 0;
                    for (int t2 = 0; t2 <= t; t2++) {
                        p[t2] = Math.exp(p[t2] - max);
                        sum += p[t2];
                    }
                    if (lse != null) {
                        lse[(b * NH + h) * T + t] = max + Math.log(sum);
                    }
                    for (int d = 0; d < HS; d++) {
                        double s = 0;
                        for (int t2 = 0; t2 <= t; t2++) {
                            s += p[t2] / sum * x[(b * T + t2) * W + (NH + KVH) * HS + g * HS + d];
                        }
                        out[(b * T + t) * C + h * HS + d] = s;
                    }
                }
            }
        }
        return out;
    }

    /** Double reference backward: the gradient of {@code dout · out} with respect to x. */
    static double[] refBackward(double[] x, double[] dout, int B, int T, int NH, int KVH, int HS) {
        int W = width(NH, KVH, HS), C = NH * HS, G = NH / KVH;
        double scale = 1 / Math.sqrt(HS);
        double[] dx = new double[x.length];
        double[] p = new double[T];
        double[] dp = new double[T];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int g = h / G;
                for (int t = 0; t < T; t++) {
                    int q = (b * T + t) * W + h * HS;
                    int go = (b * T + t) * C + h * HS;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t2 = 0; t2 <= t; t2++) {
                        int k = (b * T + t2) * W + NH * HS + g * HS;
                        double s = 0;
                        for (int d = 0; d < HS; d++) {
                            s += x[q + d] * x[k + d];
                        }
                        p[t2] = s * scale;
                        max = Math.max(max, p[t2]);
                    }
                    double sum = 0;
                    for (int t2 = 0; t2 <= t; t2++) {
                        p[t2] = Math.exp(p[t2] - max);
                        sum += p[t2];
                    }
                    double D = 0;
                    for (int t2 = 0; t2 <= t; t2++) {
                        p[t2] /= sum;
                        int v = (b * T + t2) * W + (NH + KVH) * HS + g * HS;
                        double s = 0;
                        for (int d = 0; d < HS; d++) {
                            s += dout[go + d] * x[v + d];
                            dx[v + d] += p[t2] * dout[go + d];
                        }
                        dp[t2] = s;
                        D += p[t2] * s;
                    }
                    for (int t2 = 0; t2 <= t; t2++) {
                        int k = (b * T + t2) * W + NH * HS + g * HS;
                        double ds = p[t2] * (dp[t2] - D) * scale;
                        for (int d = 0; d < HS; d++) {
                            dx[q + d] += ds * x[k + d];
                            dx[k + d] += ds * x[q + d];
                        }
                    }
                }
            }
        }
        return dx;
    }

    private static void fwd(boolean scalar, float[] out, float[] lse, float[] qkv, int B, int T, int NH, int KVH,
            int HS) {
        if (scalar) {
            FlashAttention.forwardScalar(out, lse, qkv, B, T, NH, KVH, HS);
        } else {
            FlashAttention.forward(out, lse, qkv, B, T, NH, KVH, HS);
        }
    }

    private static void bwd(boolean scalar, float[] dqkv, float[] dout, float[] out, float[] lse, float[] qkv, int B,
            int T, int NH, int KVH, int HS) {
        if (scalar) {
            FlashAttention.backwardScalar(dqkv, dout, out, lse, qkv, B, T, NH, KVH, HS);
        } else {
            FlashAttention.backward(dqkv, dout, out, lse, qkv, B, T, NH, KVH, HS);
        }
    }

    private static String name(String what, boolean scalar, int B, int T, int NH, int KVH, int HS) {
        return "FlashAttention " + what + " " + (scalar ? "scalar" : "vector") + " B=" + B + " T=" + T + " NH=" + NH
                + " KVH=" + KVH + " HS=" + HS;
    }

    @Test
    void forwardMatchesDoubleReference() {
        Rng r = new Rng(60);
        for (int[] s : shapes()) {
            int B = s[0], T = s[1], NH = s[2], KVH = s[3], HS = s[4];
            float[] qkv = randn(r, B * T * width(NH, KVH, HS));
            double[] lseRef = new double[B * NH * T];
            double[] ref = ref(d(qkv), B, T, NH, KVH, HS, lseRef);
            for (boolean scalar : new boolean[] {false, true}) {
                String what = name("forward", scalar, B, T, NH, KVH, HS);
                float[] out = new float[B * T * NH * HS], lse = new float[B * NH * T];
                java.util.Arrays.fill(out, Float.NaN);
                Ledger.Snapshot s0 = Ledger.snapshot();
                fwd(scalar, out, lse, qkv, B, T, NH, KVH, HS);
                Ledger.Snapshot diff = Ledger.snapshot().minus(s0);
                assertEquals(FlashAttention.matmulFlopsForward(B, T, NH, HS),
                        diff.flops(Ledger.phase(), Ledger.Kind.ATTENTION_MATMUL), what + " ledger");
                assertEquals(FlashAttention.softmaxFlopsForward(B, T, NH, HS),
                        diff.flops(Ledger.phase(), Ledger.Kind.SOFTMAX), what + " ledger");
                assertEquals(FlashAttention.bytesForward(B, T, NH, KVH, HS),
                        diff.bytes(Ledger.phase(), Ledger.Kind.ATTENTION_MATMUL)
                                + diff.bytes(Ledger.phase(), Ledger.Kind.SOFTMAX), what + " ledger bytes");
                close(what + " out", ref, out, 1e-5, 1e-4);
                close(what + " lse", lseRef, lse, 1e-5, 1e-4);
            }
        }
    }

    @Test
    void backwardMatchesDoubleReference() {
        Rng r = new Rng(61);
        for (int[] s : shapes()) {
            int B = s[0], T = s[1], NH = s[2], KVH = s[3], HS = s[4];
            float[] qkv = randn(r, B * T * width(NH, KVH, HS));
            float[] dout = randn(r, B * T * NH * HS);
            double[] g = refBackward(d(qkv), d(dout), B, T, NH, KVH, HS);
            float[] out = new float[B * T * NH * HS], lse = new float[B * NH * T];
            FlashAttention.forward(out, lse, qkv, B, T, NH, KVH, HS);
            for (boolean scalar : new boolean[] {false, true}) {
                String what = name("backward", scalar, B, T, NH, KVH, HS);
                float[] d0 = randn(r, qkv.length);
                float[] dqkv = d0.clone();
                Ledger.Snapshot s0 = Ledger.snapshot();
                bwd(scalar, dqkv, dout, out, lse, qkv, B, T, NH, KVH, HS);
                Ledger.Snapshot diff = Ledger.snapshot().minus(s0);
                assertEquals(FlashAttention.matmulFlopsBackward(B, T, NH, HS),
                        diff.flops(Ledger.phase(), Ledger.Kind.ATTENTION_MATMUL), what + " ledger");
                assertEquals(FlashAttention.recomputeFlopsBackward(B, T, NH, HS),
                        diff.flops(Ledger.phase(), Ledger.Kind.ATTENTION_RECOMPUTE), what + " ledger");
                assertEquals(FlashAttention.softmaxFlopsBackward(B, T, NH, HS),
                        diff.flops(Ledger.phase(), Ledger.Kind.SOFTMAX), what + " ledger");
                // accumulates: the change of dqkv is the gradient
                close(what + " dqkv", g, delta(dqkv, d0), 1e-4 * (1 + maxAbs(g)), 1e-3);
            }
        }
    }

    /** {B, T, NH, KVH, HS} small enough for central differences over every input. */
    private static final int[][] FD_SHAPES = {
        {1, 1, 1, 1, 3}, {2, 3, 4, 2, 5}, {1, 7, 6, 3, 3}, {1, 6, 4, 1, 4}, {1, BL + 3, 2, 1, 3}
    };

    @Test
    void backwardMatchesFiniteDifferences() {
        Rng r = new Rng(62);
        for (int[] s : FD_SHAPES) {
            int B = s[0], T = s[1], NH = s[2], KVH = s[3], HS = s[4];
            float[] qkv = randn(r, B * T * width(NH, KVH, HS));
            double[] x = d(qkv);
            double[] w = d(randn(r, B * T * NH * HS));
            float[] dout = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                dout[i] = (float) w[i];
            }
            // L = Σ w·out in double, differentiated numerically
            double[] num = numGrad(() -> ref(x, B, T, NH, KVH, HS, null), x, w);
            String what = "B=" + B + " T=" + T + " NH=" + NH + " KVH=" + KVH + " HS=" + HS;
            double tol = 1e-4 * (1 + maxAbs(num));
            // the reference's own backward
            double[] an = refBackward(x, w, B, T, NH, KVH, HS);
            for (int i = 0; i < an.length; i++) {
                assertEquals(num[i], an[i], tol + 1e-3 * Math.abs(num[i]), "reference backward " + what + " " + i);
            }
            // the kernels
            float[] out = new float[B * T * NH * HS], lse = new float[B * NH * T];
            FlashAttention.forward(out, lse, qkv, B, T, NH, KVH, HS);
            for (boolean scalar : new boolean[] {false, true}) {
                float[] dqkv = new float[qkv.length];
                bwd(scalar, dqkv, dout, out, lse, qkv, B, T, NH, KVH, HS);
                close(name("backward vs finite differences", scalar, B, T, NH, KVH, HS), num, dqkv, tol, 1e-3);
            }
        }
    }

    @Test
    void matchesNaiveAttentionForMultiHead() {
        Rng r = new Rng(63);
        int[][] cases = {{1, 1, 1, 5}, {2, BL + 1, 4, 12}, {1, 100, 6, 64}, {2, 2 * BL, 2, 64}};
        for (int[] s : cases) {
            int B = s[0], T = s[1], NH = s[2], HS = s[3], C = NH * HS;
            String what = "flash vs naive B=" + B + " T=" + T + " NH=" + NH + " HS=" + HS;
            float[] qkv = randn(r, B * T * 3 * C), dout = randn(r, B * T * C);
            float[] outN = new float[B * T * C], att = new float[B * NH * T * T];
            Attention.forward(outN, att, qkv, B, T, C, NH);
            float[] dN = new float[qkv.length], datt = new float[att.length];
            Attention.backward(dN, datt, dout, qkv, att, B, T, C, NH);
            float[] out = new float[B * T * C], lse = new float[B * NH * T];
            FlashAttention.forward(out, lse, qkv, B, T, NH, NH, HS);
            float[] dF = new float[qkv.length];
            FlashAttention.backward(dF, dout, out, lse, qkv, B, T, NH, NH, HS);
            close(what + " out", d(outN), out, 1e-5, 1e-4);
            double[] dn = d(dN);
            close(what + " dqkv", dn, dF, 1e-4 * (1 + maxAbs(dn)), 1e-3);
            // the ledger's matmul counts are the naive kernel's
            assertEquals(Attention.matmulFlopsForward(B, T, C, NH), FlashAttention.matmulFlopsForward(B, T, NH, HS));
            assertEquals(Attention.matmulFlopsBackward(B, T, C, NH),
                    FlashAttention.matmulFlopsBackward(B, T, NH, HS));
        }
    }

    @Test
    void vectorAndScalarTwinsAgree() {
        Rng r = new Rng(64);
        int B = 2, T = 2 * BL + 7, NH = 6, KVH = 2, HS = 12;
        float[] qkv = randn(r, B * T * width(NH, KVH, HS)), dout = randn(r, B * T * NH * HS);
        float[][] got = new float[2][];
        float[][] grads = new float[2][];
        for (int v = 0; v < 2; v++) {
            float[] out = new float[B * T * NH * HS], lse = new float[B * NH * T];
            fwd(v == 1, out, lse, qkv, B, T, NH, KVH, HS);
            float[] dqkv = new float[qkv.length];
            bwd(v == 1, dqkv, dout, out, lse, qkv, B, T, NH, KVH, HS);
            got[v] = out;
            grads[v] = dqkv;
        }
        // stated tolerance: the two differ only in summation order
        close("forward vector vs scalar", d(got[1]), got[0], 1e-6, 1e-5);
        double[] g1 = d(grads[1]);
        close("backward vector vs scalar", g1, grads[0], 1e-5 * (1 + maxAbs(g1)), 1e-4);
    }

    @Test
    void bitIdenticalForOneAndTwoThreads() {
        Rng r = new Rng(65);
        int saved = Parallel.threads();
        try {
            for (int[] s : new int[][] {{3, 100, 6, 3, 12}, {2, BL + 5, 4, 1, 64}, {2, 33, 4, 4, 5}}) {
                int B = s[0], T = s[1], NH = s[2], KVH = s[3], HS = s[4];
                float[] qkv = randn(r, B * T * width(NH, KVH, HS)), dout = randn(r, B * T * NH * HS);
                float[][] ref = null;
                for (int th : new int[] {1, 2, 3}) {
                    Parallel.setThreads(th);
                    float[] out = new float[B * T * NH * HS], lse = new float[B * NH * T];
                    FlashAttention.forward(out, lse, qkv, B, T, NH, KVH, HS);
                    float[] dqkv = new float[qkv.length];
                    FlashAttention.backward(dqkv, dout, out, lse, qkv, B, T, NH, KVH, HS);
                    float[][] got = {out, lse, dqkv};
                    if (ref == null) {
                        ref = got;
                    } else {
                        for (int k = 0; k < 3; k++) {
                            assertArrayEquals(ref[k], got[k], "threads=" + th + " array " + k + " shape "
                                    + java.util.Arrays.toString(s));
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void causalRowsIgnoreLaterPositions() {
        // rows t <= cut keep their bits when every later position changes; the tiles past the diagonal are skipped
        Rng r = new Rng(66);
        int B = 1, T = 2 * BL + 3, NH = 4, KVH = 2, HS = 12, W = width(NH, KVH, HS), C = NH * HS;
        float[] qkv = randn(r, B * T * W);
        float[] out = new float[T * C], lse = new float[NH * T];
        FlashAttention.forward(out, lse, qkv, B, T, NH, KVH, HS);
        for (int cut : new int[] {0, BL - 1, BL, T - 2}) {
            float[] x = qkv.clone();
            for (int i = (cut + 1) * W; i < x.length; i++) {
                x[i] = 100f * x[i] + 1f;
            }
            float[] o2 = new float[T * C], l2 = new float[NH * T];
            FlashAttention.forward(o2, l2, x, B, T, NH, KVH, HS);
            for (int i = 0; i < (cut + 1) * C; i++) {
                assertEquals(Float.floatToRawIntBits(out[i]), Float.floatToRawIntBits(o2[i]),
                        "cut=" + cut + " out element " + i);
            }
        }
    }

    @Test
    void ledgerFormulasAndErrors() {
        // medium: B 8, T 256, NH 6, HS 64: the naive kernel's matmul counts, the recompute is half the forward's
        assertEquals(Attention.matmulFlopsForward(8, 256, 384, 6), FlashAttention.matmulFlopsForward(8, 256, 6, 64));
        assertEquals(Attention.matmulFlopsBackward(8, 256, 384, 6),
                FlashAttention.matmulFlopsBackward(8, 256, 6, 64));
        assertEquals(FlashAttention.matmulFlopsForward(8, 256, 6, 64) / 2,
                FlashAttention.recomputeFlopsBackward(8, 256, 6, 64));
        // row blocks: rows 0..BL-1 visit 1 block, the next BL rows 2, then 3 rows visit 3
        assertEquals(BL + 2L * BL + 3 * 3, FlashAttention.rowBlocks(1, 2 * BL + 3, 1));
        // bytes have no T² term: doubling T doubles them
        assertEquals(2 * FlashAttention.bytesForward(8, 256, 6, 6, 64), FlashAttention.bytesForward(8, 512, 6, 6, 64));
        assertTrue(FlashAttention.bytesForward(8, 256, 6, 2, 64) < FlashAttention.bytesForward(8, 256, 6, 6, 64));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FlashAttention.forward(new float[60], new float[10], new float[200], 1, 1, 4, 3, 5));
        assertTrue(e.getMessage().contains("do not divide"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> FlashAttention.forward(new float[60], new float[10], new float[10], 1, 2, 4, 2, 5));
        assertThrows(IllegalArgumentException.class, () -> FlashAttention.backward(new float[1], new float[40],
                new float[40], new float[8], new float[160], 1, 2, 4, 4, 5));
    }
}
