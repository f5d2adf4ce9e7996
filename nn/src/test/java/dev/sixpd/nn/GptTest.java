package dev.sixpd.nn;

import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GptTest {

    /** {@code n} tokens drawn uniformly from {@code [0, V)} (the model tests of this package share it). */
    static int[] randomTokens(Rng rng, int n, int V) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rng.nextInt(V);
        }
        return t;
    }

    @Test
    void parameterNamesShapesAndCountFollowGpt2() {
        GptConfig cfg = new GptConfig(65, 64, 2, 64, 4);
        Gpt m = new Gpt(cfg, 1, 1);
        assertEquals(cfg.parameterCount(), m.parameterCount());
        // P = V·C + T·C + L·(12C² + 13C) + 2C
        long C = 64;
        assertEquals(65 * C + 64 * C + 2 * (12 * C * C + 13 * C) + 2 * C, m.parameterCount());
        assertEquals(2 + 2 * 12 + 2, m.params().size());
        assertArrayEquals(new int[]{65, 64}, m.param("wte.weight").shape());
        assertArrayEquals(new int[]{64, 64}, m.param("wpe.weight").shape());
        assertArrayEquals(new int[]{192, 64}, m.param("h.1.attn.c_attn.weight").shape());
        assertArrayEquals(new int[]{192}, m.param("h.1.attn.c_attn.bias").shape());
        assertArrayEquals(new int[]{64, 64}, m.param("h.0.attn.c_proj.weight").shape());
        assertArrayEquals(new int[]{256, 64}, m.param("h.0.mlp.c_fc.weight").shape());
        assertArrayEquals(new int[]{64, 256}, m.param("h.0.mlp.c_proj.weight").shape());
        assertArrayEquals(new int[]{64}, m.param("h.0.ln_2.bias").shape());
        assertArrayEquals(new int[]{64}, m.param("ln_f.weight").shape());
        for (GptConfig c : List.of(GptConfig.preset("small", 97), new GptConfig(11, 9, 3, 24, 6))) {
            assertEquals(c.parameterCount(), new Gpt(c, 1).parameterCount(), c.toString());
        }
    }

    @Test
    void initIsGpt2StyleAndSeeded() {
        GptConfig cfg = new GptConfig(50, 32, 4, 64, 4);
        Gpt a = new Gpt(cfg, 1, 42);
        Gpt b = new Gpt(cfg, 1, 42);
        for (int i = 0; i < a.params().size(); i++) {
            assertArrayEquals(a.params().get(i).data, b.params().get(i).data);
        }
        assertEquals(0.02, std(a.param("h.0.mlp.c_fc.weight").data), 0.002);
        assertEquals(0.02 / Math.sqrt(8), std(a.param("h.3.mlp.c_proj.weight").data), 0.001);
        assertEquals(0.02 / Math.sqrt(8), std(a.param("h.3.attn.c_proj.weight").data), 0.001);
        assertEquals(0.0, std(a.param("h.0.attn.c_attn.bias").data));
        assertEquals(1f, a.param("h.2.ln_1.weight").data[5]);
        assertTrue(a.param("wte.weight").decay == false && a.param("h.0.attn.c_attn.weight").decay
                && !a.param("h.0.attn.c_attn.bias").decay && !a.param("ln_f.weight").decay);
    }

    private static double std(float[] a) {
        double s = 0;
        double s2 = 0;
        for (float v : a) {
            s += v;
            s2 += (double) v * v;
        }
        double m = s / a.length;
        return Math.sqrt(Math.max(0, s2 / a.length - m * m));
    }

    @Test
    void lossAtInitIsAboutLnV() {
        GptConfig cfg = GptConfig.preset("tiny", 91);
        Gpt m = new Gpt(cfg, 4, 3);
        Rng rng = new Rng(9);
        int n = 4 * 64;
        double loss = m.forward(randomTokens(rng, n, 91), randomTokens(rng, n, 91), 4, 64);
        assertEquals(Math.log(91), loss, 0.05);
    }

    /** Parameters scrambled away from the GPT-2 init so every path carries a sizeable gradient. */
    private static Gpt scrambled(GptConfig cfg, int maxB, long seed) {
        Gpt m = new Gpt(cfg, maxB, seed);
        Rng rng = new Rng(seed + 1);
        for (Param p : m.params()) {
            boolean ln = p.name.contains("ln_");
            for (int i = 0; i < p.data.length; i++) {
                p.data[i] += (float) ((ln ? 0.2 : 0.08) * rng.nextGaussian());
            }
            p.syncWorking();
        }
        return m;
    }

    private static Map<String, double[]> asDouble(Gpt m) {
        Map<String, double[]> p = new HashMap<>();
        for (Param q : m.params()) {
            double[] d = new double[q.data.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = q.data[i];
            }
            p.put(q.name, d);
        }
        return p;
    }

    @Test
    void forwardMatchesTheDoubleReference() {
        GptConfig cfg = new GptConfig(23, 12, 2, 16, 4);
        Gpt m = scrambled(cfg, 3, 5);
        Rng rng = new Rng(11);
        int B = 3;
        int T = 10;
        int[] x = randomTokens(rng, B * T, 23);
        int[] y = randomTokens(rng, B * T, 23);
        double got = m.forward(x, y, B, T);
        double want = GptReference.loss(cfg, asDouble(m), x, y, B, T);
        assertEquals(want, got, 1e-5 * want);
    }

    /**
     * Gradient check through the whole {@code tiny} model (2 layers, C=64, 4 heads; vocabulary 29, batch 2, 12 of
     * 64 positions): the float model's backward against central differences (h = 1e-4) of the independent
     * double-precision reference, at 4 random entries of every parameter tensor, plus a wpe row past T whose
     * gradient must be exactly 0. Tolerance: |analytic − numeric| ≤ 2e-3·|numeric| + 2e-3·(largest |numeric| of
     * that tensor) + 1e-7 — the float forward/backward rounds at about 1e-7 relative per op and sums hundreds of
     * terms, the double differences are accurate to about h² ≈ 1e-8.
     */
    @Test
    void gradientCheckAgainstFiniteDifferencesInDouble() {
        GptConfig cfg = GptConfig.preset("tiny", 29);
        Gpt m = scrambled(cfg, 2, 7);
        Rng rng = new Rng(13);
        int B = 2;
        int T = 12;
        int[] x = randomTokens(rng, B * T, 29);
        int[] y = randomTokens(rng, B * T, 29);
        for (Param p : m.params()) {
            p.zeroGrad();
        }
        m.forward(x, y, B, T);
        m.backward(1f);
        Map<String, double[]> ref = asDouble(m);
        double h = 1e-4;
        double worst = 0;
        String worstAt = "";
        for (Param p : m.params()) {
            double[] w = ref.get(p.name);
            int[] idx = new int[5];
            int limit = p.name.equals("wpe.weight") ? T * cfg.dModel() : w.length;
            for (int k = 0; k < 4; k++) {
                idx[k] = rng.nextInt(limit);
            }
            // a token that appears in x, so its wte row has a gradient from the embedding side too
            idx[4] = p.name.equals("wte.weight") ? x[0] * cfg.dModel() + 3 : idx[0];
            double[] num = new double[idx.length];
            double scale = 0;
            for (int k = 0; k < idx.length; k++) {
                int i = idx[k];
                double keep = w[i];
                w[i] = keep + h;
                double lp = GptReference.loss(cfg, ref, x, y, B, T);
                w[i] = keep - h;
                double lm = GptReference.loss(cfg, ref, x, y, B, T);
                w[i] = keep;
                num[k] = (lp - lm) / (2 * h);
                scale = Math.max(scale, Math.abs(num[k]));
            }
            for (int k = 0; k < idx.length; k++) {
                double a = p.grad[idx[k]];
                double err = Math.abs(a - num[k]);
                double tol = 2e-3 * Math.abs(num[k]) + 2e-3 * scale + 1e-7;
                assertTrue(err <= tol, p.name + "[" + idx[k] + "]: analytic " + a + " numeric " + num[k]);
                double rel = err / (Math.abs(num[k]) + 1e-6);
                if (rel > worst) {
                    worst = rel;
                    worstAt = p.name + "[" + idx[k] + "] analytic " + a + " numeric " + num[k];
                }
            }
            if (p.name.equals("wpe.weight")) {
                assertEquals(0f, p.grad[T * cfg.dModel() + 5], "wpe rows past T get no gradient");
            }
        }
        System.out.println("gradient check: worst relative error " + worst + " at " + worstAt);
    }

    @Test
    void backwardAccumulatesAndScales() {
        GptConfig cfg = new GptConfig(17, 8, 1, 8, 2);
        Gpt m = scrambled(cfg, 2, 3);
        Rng rng = new Rng(4);
        int[] x = randomTokens(rng, 16, 17);
        int[] y = randomTokens(rng, 16, 17);
        m.forward(x, y, 2, 8);
        m.backward(1f);
        float[] once = m.param("h.0.mlp.c_fc.weight").grad.clone();
        m.forward(x, y, 2, 8);
        m.backward(0.5f);
        float[] got = m.param("h.0.mlp.c_fc.weight").grad;
        for (int i = 0; i < once.length; i++) {
            assertEquals(1.5f * once[i], got[i], 1e-6f * (1 + Math.abs(once[i])));
        }
    }

    /** Backward turns the saved probabilities into dlogits in place: a second one without a forward is refused. */
    @Test
    void secondBackwardWithoutForwardIsRefused() {
        GptConfig cfg = new GptConfig(17, 8, 1, 8, 2);
        Gpt m = scrambled(cfg, 2, 3);
        Rng rng = new Rng(5);
        int[] x = randomTokens(rng, 16, 17);
        int[] y = randomTokens(rng, 16, 17);
        m.forward(x, y, 2, 8);
        m.backward(1f);
        float[] once = m.param("h.0.mlp.c_fc.weight").grad.clone();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.backward(1f));
        assertTrue(e.getMessage().contains("run forward again"), e.getMessage());
        assertArrayEquals(once, m.param("h.0.mlp.c_fc.weight").grad, "a refused backward leaves the gradients alone");
        // a forward without targets saves no probabilities either
        m.forward(x, y, 2, 8);
        m.forward(x, null, 2, 8);
        assertThrows(IllegalStateException.class, () -> m.backward(1f));
        // after a forward with targets, backward runs again
        m.forward(x, y, 2, 8);
        m.backward(1f);
    }

    /** The ledger's matmul FLOPs are exactly 2·N·(L·12C² + V·C) forward and twice that backward. */
    @Test
    void ledgerMatmulFlopsMatchTheAnalyticCount() {
        GptConfig cfg = new GptConfig(37, 16, 3, 24, 3);
        Gpt m = new Gpt(cfg, 2, 1);
        Rng rng = new Rng(2);
        int B = 2;
        int T = 13;
        int[] x = randomTokens(rng, B * T, 37);
        int[] y = randomTokens(rng, B * T, 37);
        Ledger.setEnabled(true);
        Ledger.Snapshot before = Ledger.snapshot();
        m.forward(x, y, B, T);
        m.backward(1f);
        Ledger.Snapshot d = Ledger.snapshot().minus(before);
        long N = (long) B * T;
        long C = 24;
        long matmulParams = 3 * 12 * C * C + 37 * C;
        assertEquals(2 * N * matmulParams, d.flops(Ledger.Phase.FORWARD, Ledger.Kind.MATMUL));
        assertEquals(4 * N * matmulParams, d.flops(Ledger.Phase.BACKWARD, Ledger.Kind.MATMUL));
        assertTrue(d.flops(Ledger.Phase.FORWARD, Ledger.Kind.ATTENTION_MATMUL) > 0);
        assertEquals(0, d.flops(Ledger.Phase.OTHER));
    }

    /** Recomputation gives bit-identical gradients, one more block forward in the RECOMPUTE phase, less memory. */
    @Test
    void recomputeIsExactAndSavesActivations() {
        GptConfig cfg = new GptConfig(31, 16, 3, 32, 4);
        Gpt plain = scrambled(cfg, 2, 8);
        Gpt re = new Gpt(cfg, 2, true);
        for (int i = 0; i < plain.params().size(); i++) {
            System.arraycopy(plain.params().get(i).data, 0, re.params().get(i).data, 0, plain.params().get(i).size());
            re.params().get(i).syncWorking();
        }
        Rng rng = new Rng(3);
        int[] x = randomTokens(rng, 2 * 16, 31);
        int[] y = randomTokens(rng, 2 * 16, 31);
        Ledger.setEnabled(true);
        plain.forward(x, y, 2, 16);
        plain.backward(1f);
        Ledger.Snapshot before = Ledger.snapshot();
        double lossRe = re.forward(x, y, 2, 16);
        re.backward(1f);
        Ledger.Snapshot d = Ledger.snapshot().minus(before);
        assertEquals(plain.forward(x, y, 2, 16), lossRe);
        for (int i = 0; i < plain.params().size(); i++) {
            assertArrayEquals(plain.params().get(i).grad, re.params().get(i).grad, plain.params().get(i).name);
        }
        long N = 2 * 16;
        long C = 32;
        assertEquals(2 * N * 3 * 12 * C * C, d.flops(Ledger.Phase.RECOMPUTE, Ledger.Kind.MATMUL));
        assertEquals(d.flops(Ledger.Phase.FORWARD, Ledger.Kind.ATTENTION_MATMUL),
                d.flops(Ledger.Phase.RECOMPUTE, Ledger.Kind.ATTENTION_MATMUL));
        long savedPlain = plain.layout().savedForBackwardBytes();
        long savedRe = re.layout().savedForBackwardBytes();
        assertTrue(savedRe < savedPlain, savedRe + " vs " + savedPlain);
        assertEquals(4L * N * C, re.layout().perLayer().get("residual after mlp (block output)"));
        assertEquals(4L * N * 3 * C, re.layout().shared().get("qkv"), "one shared qkv buffer");
        assertEquals(4L * N * 3 * C, plain.layout().perLayer().get("qkv"), "each layer's own");
    }
}
