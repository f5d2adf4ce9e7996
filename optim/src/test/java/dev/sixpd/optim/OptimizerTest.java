package dev.sixpd.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SGD, Adam and AdamW against hand-written double-precision updates; vector == scalar; state save/load. */
class OptimizerTest {
    /** Sizes with vector tails, empty and size-1 tensors. */
    private static final int[] SIZES = {0, 1, 7, 17, 33, 100};

    private static List<Param> params(long seed) {
        Rng r = new Rng(seed);
        List<Param> ps = new java.util.ArrayList<>();
        for (int i = 0; i < SIZES.length; i++) {
            // alternate decay on/off per parameter
            Param p = new Param("p" + i + (i % 2 == 0 ? ".weight" : ".bias"), new int[] {SIZES[i]}, i % 2 == 0);
            r.fillNormal(p.data, 0, 1);
            ps.add(p);
        }
        return ps;
    }

    private static void fillGrads(List<Param> ps, Rng r) {
        for (Param p : ps) {
            r.fillNormal(p.grad, 0, 0.5);
        }
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static void assertClose(double[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + " length");
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(want[i] - got[i]);
            assertTrue(err <= tol * (1 + Math.abs(want[i])),
                    what + "[" + i + "]: want " + want[i] + " got " + got[i] + " err " + err);
        }
    }

    /** Runs {@code steps} Adam(W) steps and compares weights and moments with the same math in double. */
    private static void checkAdam(boolean decoupled) {
        float lr = 0.01f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
        AdamW opt = decoupled ? new AdamW(b1, b2, eps, wd) : AdamW.adam(b1, b2, eps, wd);
        List<Param> ps = params(1);
        double[][] p = new double[ps.size()][], m = new double[ps.size()][], v = new double[ps.size()][];
        for (int k = 0; k < ps.size(); k++) {
            p[k] = toDouble(ps.get(k).data);
            m[k] = new double[p[k].length];
            v[k] = new double[p[k].length];
        }
        Rng r = new Rng(2);
        for (int t = 1; t <= 5; t++) {
            fillGrads(ps, r);
            for (int k = 0; k < ps.size(); k++) {
                boolean decay = ps.get(k).decay;
                float[] g = ps.get(k).grad;
                for (int i = 0; i < g.length; i++) {
                    double gi = g[i] + (!decoupled && decay ? wd * p[k][i] : 0);
                    m[k][i] = b1 * m[k][i] + (1 - (double) b1) * gi;
                    v[k][i] = b2 * v[k][i] + (1 - (double) b2) * gi * gi;
                    double mhat = m[k][i] / (1 - Math.pow(b1, t));
                    double vhat = v[k][i] / (1 - Math.pow(b2, t));
                    double u = mhat / (Math.sqrt(vhat) + eps) + (decoupled && decay ? wd * p[k][i] : 0);
                    p[k][i] -= lr * u;
                }
            }
            opt.step(ps, lr);
        }
        assertEquals(5, opt.stepCount());
        Map<String, float[]> st = opt.state();
        for (int k = 0; k < ps.size(); k++) {
            String n = ps.get(k).name;
            assertClose(p[k], ps.get(k).data, 2e-6, n);
            assertClose(m[k], st.get(n + ".m"), 2e-6, n + ".m");
            assertClose(v[k], st.get(n + ".v"), 2e-6, n + ".v");
        }
    }

    @Test
    void adamWMatchesDoubleReferenceWithBiasCorrectionAndDecoupledDecay() {
        checkAdam(true);
    }

    @Test
    void adamMatchesDoubleReferenceWithL2Decay() {
        checkAdam(false);
    }

    @Test
    void weightDecayOnlyTouchesDecayedParams() {
        // zero gradients: Adam's update is 0, so only decoupled decay moves the weights
        List<Param> ps = params(3);
        float[][] before = new float[ps.size()][];
        for (int k = 0; k < ps.size(); k++) {
            before[k] = ps.get(k).data.clone();
        }
        new AdamW(0.9f, 0.999f, 1e-8f, 0.5f).step(ps, 0.1f);
        for (int k = 0; k < ps.size(); k++) {
            Param p = ps.get(k);
            for (int i = 0; i < p.size(); i++) {
                float want = p.decay ? before[k][i] - 0.1f * 0.5f * before[k][i] : before[k][i];
                assertEquals(want, p.data[i], 1e-6f * (1 + Math.abs(want)), p.name);
            }
        }
    }

    private static void checkSgd(boolean nesterov) {
        float lr = 0.05f, mu = 0.9f, wd = 0.01f;
        Sgd opt = new Sgd(mu, nesterov, wd);
        List<Param> ps = params(4);
        double[][] p = new double[ps.size()][], b = new double[ps.size()][];
        for (int k = 0; k < ps.size(); k++) {
            p[k] = toDouble(ps.get(k).data);
            b[k] = new double[p[k].length];
        }
        Rng r = new Rng(5);
        for (int t = 1; t <= 4; t++) {
            fillGrads(ps, r);
            for (int k = 0; k < ps.size(); k++) {
                float[] g = ps.get(k).grad;
                for (int i = 0; i < g.length; i++) {
                    double gi = g[i] + (ps.get(k).decay ? wd * p[k][i] : 0);
                    // PyTorch: first step buf = g, later buf = mu*buf + g
                    b[k][i] = t == 1 ? gi : mu * b[k][i] + gi;
                    double d = nesterov ? gi + mu * b[k][i] : b[k][i];
                    p[k][i] -= lr * d;
                }
            }
            opt.step(ps, lr);
        }
        for (int k = 0; k < ps.size(); k++) {
            assertClose(p[k], ps.get(k).data, 1e-6, ps.get(k).name);
            assertClose(b[k], opt.state().get(ps.get(k).name + ".momentum_buffer"), 1e-6, "buffer");
        }
    }

    @Test
    void sgdMomentumMatchesDoubleReference() {
        checkSgd(false);
    }

    @Test
    void sgdNesterovMatchesDoubleReference() {
        checkSgd(true);
    }

    @Test
    void plainSgdKeepsNoState() {
        Sgd opt = new Sgd();
        Param p = new Param("w.weight", new int[] {3, 2}, true);
        p.data[0] = 1f;
        p.grad[0] = 2f;
        opt.step(List.of(p), 0.25f);
        assertEquals(0.5f, p.data[0]);
        assertEquals(0, opt.stateBytes());
        assertTrue(opt.state().isEmpty());
    }

    @Test
    void vectorAndScalarAdamAreBitIdentical() {
        Rng r = new Rng(7);
        for (int n : new int[] {0, 1, 3, 8, 15, 16, 17, 31, 33, 1000, 4099}) {
            for (int mode = 0; mode < 3; mode++) {
                float[] p = new float[n], g = new float[n], m = new float[n], v = new float[n];
                r.fillNormal(p, 0, 1);
                r.fillNormal(g, 0, 1e-3);
                r.fillNormal(m, 0, 1e-3);
                r.fillUniform(v, 0, 1e-6);
                float[] p2 = p.clone(), m2 = m.clone(), v2 = v.clone();
                float l2 = mode == 1 ? 0.1f : 0f, wd = mode == 2 ? 0.1f : 0f;
                AdamW.update(p, g, m, v, 0, n, 3e-4f, 0.9f, 0.95f, 1e-8f, l2, wd, 1.5f, 1.2f);
                AdamW.updateScalar(p2, g, m2, v2, 0, n, 3e-4f, 0.9f, 0.95f, 1e-8f, l2, wd, 1.5f, 1.2f);
                assertArrayEquals(p2, p, "p n=" + n);
                assertArrayEquals(m2, m, "m n=" + n);
                assertArrayEquals(v2, v, "v n=" + n);
            }
        }
    }

    @Test
    void vectorAndScalarSgdAreBitIdentical() {
        Rng r = new Rng(8);
        for (int n : new int[] {0, 1, 5, 16, 17, 1001}) {
            for (boolean nesterov : new boolean[] {false, true}) {
                float[] p = new float[n], g = new float[n], b = new float[n];
                r.fillNormal(p, 0, 1);
                r.fillNormal(g, 0, 1);
                r.fillNormal(b, 0, 1);
                float[] p2 = p.clone(), b2 = b.clone();
                Sgd.update(p, g, b, 0, n, 0.1f, 0.9f, nesterov, 0.01f);
                Sgd.updateScalar(p2, g, b2, 0, n, 0.1f, 0.9f, nesterov, 0.01f);
                assertArrayEquals(p2, p);
                assertArrayEquals(b2, b);
            }
        }
    }

    @Test
    void threadedStepOfALargeParamEqualsSingleThreadedStep() {
        int n = SlotOptimizer.PARALLEL_MIN * 2 + 13;
        int old = Parallel.threads();
        float[][] results = new float[2][];
        try {
            for (int run = 0; run < 2; run++) {
                Parallel.setThreads(run == 0 ? 1 : 3);
                Param p = new Param("big.weight", new int[] {n}, true);
                Rng r = new Rng(9);
                r.fillNormal(p.data, 0, 1);
                AdamW opt = AdamW.gptDefaults();
                for (int s = 0; s < 3; s++) {
                    r.fillNormal(p.grad, 0, 1);
                    opt.step(List.of(p), 1e-3f);
                }
                results[run] = p.data;
            }
        } finally {
            Parallel.setThreads(old);
        }
        assertArrayEquals(results[0], results[1]);
    }

    @Test
    void stepChargesOptimizerPhaseAndRestoresIt() {
        List<Param> ps = params(10);
        long decayed = 0, plain = 0;
        for (Param p : ps) {
            if (p.decay) {
                decayed += p.size();
            } else {
                plain += p.size();
            }
        }
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.BACKWARD);
        try {
            Ledger.Snapshot s0 = Ledger.snapshot();
            new AdamW(0.9f, 0.95f, 1e-8f, 0.1f).step(ps, 1e-3f);
            Ledger.Snapshot d = Ledger.snapshot().minus(s0);
            assertEquals(Ledger.Phase.BACKWARD, Ledger.phase());
            assertEquals(16 * decayed + 14 * plain, d.flops(Ledger.Phase.OPTIMIZER, Ledger.Kind.ELEMENTWISE));
            assertEquals(28 * (decayed + plain), d.bytes(Ledger.Phase.OPTIMIZER, Ledger.Kind.ELEMENTWISE));
            assertEquals(0, d.flops(Ledger.Phase.BACKWARD));
        } finally {
            Ledger.setPhase(old);
        }
    }

    @Test
    void stateSavesAndLoadsToTheSameTrajectory() {
        List<Param> a = params(11);
        AdamW oa = AdamW.gptDefaults();
        Rng r = new Rng(12);
        for (int s = 0; s < 3; s++) {
            fillGrads(a, r);
            oa.step(a, 1e-2f);
        }
        // "checkpoint": copy weights and state into a fresh model and optimizer
        List<Param> b = params(99);
        for (int k = 0; k < a.size(); k++) {
            System.arraycopy(a.get(k).data, 0, b.get(k).data, 0, a.get(k).size());
        }
        Map<String, float[]> saved = new HashMap<>();
        oa.state().forEach((k, v) -> saved.put(k, v.clone()));
        AdamW ob = AdamW.gptDefaults();
        ob.load(b, saved, oa.stepCount());
        assertEquals(3, ob.stepCount());
        Rng ra = new Rng(13), rb = new Rng(13);
        for (int s = 0; s < 2; s++) {
            fillGrads(a, ra);
            fillGrads(b, rb);
            oa.step(a, 1e-2f);
            ob.step(b, 1e-2f);
        }
        for (int k = 0; k < a.size(); k++) {
            assertArrayEquals(a.get(k).data, b.get(k).data);
        }
    }

    @Test
    void loadRefusesMismatchesWithClearMessages() {
        List<Param> ps = params(14);
        AdamW opt = AdamW.gptDefaults();
        opt.init(ps);
        Map<String, float[]> st = new HashMap<>(opt.state());
        assertEquals(2 * ps.size(), st.size());

        Map<String, float[]> missing = new HashMap<>(st);
        missing.remove("p3.bias.v");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdamW.gptDefaults().load(ps, missing, 1));
        assertTrue(e.getMessage().contains("p3.bias.v"), e.getMessage());

        Map<String, float[]> wrongSize = new HashMap<>(st);
        wrongSize.put("p2.weight.m", new float[8]);
        e = assertThrows(IllegalArgumentException.class, () -> AdamW.gptDefaults().load(ps, wrongSize, 1));
        assertTrue(e.getMessage().contains("p2.weight.m") && e.getMessage().contains("8")
                && e.getMessage().contains("7"), e.getMessage());

        Map<String, float[]> extra = new HashMap<>(st);
        extra.put("ghost.weight.m", new float[1]);
        e = assertThrows(IllegalArgumentException.class, () -> AdamW.gptDefaults().load(ps, extra, 1));
        assertTrue(e.getMessage().contains("ghost.weight.m"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> new Sgd().load(ps, st, 1));
        assertTrue(e.getMessage().contains("no state"), e.getMessage());

        // an empty state at step 0 is a fresh optimizer
        AdamW fresh = AdamW.gptDefaults();
        fresh.load(ps, Map.of(), 0);
        assertEquals(0, fresh.stepCount());
    }

    @Test
    void modelStateMemoryCountsAllocatedAndNominalBytes() {
        Param w = new Param("h.0.mlp.c_fc.weight", new int[] {4, 3});
        Param b = new Param("h.0.mlp.c_fc.bias", new int[] {4});
        List<Param> ps = List.of(w, b);
        AdamW opt = AdamW.gptDefaults();
        ModelStateMemory m0 = ModelStateMemory.of(ps, opt);
        assertEquals(16, m0.parameters());
        assertEquals(0, m0.optimizerBytes());
        assertEquals(16 * 8, m0.optimizerBytesNominal());
        assertEquals(16.0, m0.bytesPerParameterNominal());
        opt.init(ps);
        for (Param p : ps) {
            p.setWorkingDtype(dev.sixpd.tensor.DType.BF16);
        }
        ModelStateMemory m = ModelStateMemory.of(ps, opt);
        assertEquals(64, m.masterBytes());
        assertEquals(64, m.gradBytes());
        assertEquals(32, m.gradBytesNominal());
        assertEquals(128, m.optimizerBytes());
        assertEquals(64, m.workingBytes());
        assertEquals(32, m.workingBytesNominal());
        assertEquals(16.0, m.bytesPerParameterNominal()); // (2 + 2 + 12) per parameter
    }
}
