package dev.sixpd.nn.ledger;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.optim.AdamW;
import dev.sixpd.optim.Grads;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Ledger.Kind;
import dev.sixpd.tensor.Ledger.Phase;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real model's forward and backward, with the ledger counting, against {@link Analytic}: the matmul FLOPs must be
 * equal exactly, for several shapes (including odd ones: T not a power of two, heads of 16 channels, V below C).
 */
class LedgerMeasuredTest {

    /** tiny and small presets (cut to short sequences to keep the test fast), an odd shape, and a 1-layer one. */
    private static final List<Object[]> CASES = List.of(
            new Object[]{GptConfig.preset("tiny", 65), 2, 64},
            new Object[]{GptConfig.preset("small", 97), 1, 40},
            new Object[]{new GptConfig(29, 17, 3, 48, 3), 2, 17},
            new Object[]{new GptConfig(29, 17, 3, 48, 3), 3, 5},
            new Object[]{new GptConfig(7, 9, 1, 8, 8), 1, 1},
            new Object[]{new GptConfig(300, 33, 2, 24, 2), 2, 33});

    private static int[] tokens(Rng rng, int n, int V) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rng.nextInt(V);
        }
        return t;
    }

    /** One forward+backward pass of {@code m} on a seeded batch; returns the ledger difference. */
    private static Ledger.Snapshot pass(Gpt m, int B, int T, long seed) {
        int V = m.config.vocab();
        Rng rng = new Rng(seed);
        int[] x = tokens(rng, B * T, V);
        int[] y = tokens(rng, B * T, V);
        boolean was = Ledger.enabled();
        Ledger.setEnabled(true);
        try {
            Ledger.Snapshot before = Ledger.snapshot();
            m.forward(x, y, B, T);
            m.backward(1f);
            return Ledger.snapshot().minus(before);
        } finally {
            Ledger.setEnabled(was);
        }
    }

    @Test
    void matmulFlopsOfForwardAndBackwardEqualTheFormulasExactly() {
        for (Object[] c : CASES) {
            GptConfig cfg = (GptConfig) c[0];
            int B = (int) c[1];
            int T = (int) c[2];
            String what = cfg + " B=" + B + " T=" + T;
            Gpt m = new Gpt(cfg, B, 1);
            Ledger.Snapshot d = pass(m, B, T, 7);
            Analytic a = new Analytic(cfg, B, T);
            long L = cfg.layers();
            long C = cfg.dModel();
            long V = cfg.vocab();
            long N = (long) B * T;
            // the formulas written out once more by hand, independent of Analytic's code
            long mm = 2 * N * (L * (3 * C * C + C * C + 4 * C * C + 4 * C * C) + V * C);
            long att = L * 2 * B * C * T * (T + 1L);
            assertEquals(mm, a.forwardMatmulFlopsPerPass(), what);
            assertEquals(att, a.forwardAttentionFlopsPerPass(), what);
            assertEquals(mm, d.flops(Phase.FORWARD, Kind.MATMUL), what);
            assertEquals(att, d.flops(Phase.FORWARD, Kind.ATTENTION_MATMUL), what);
            assertEquals(2 * mm, d.flops(Phase.BACKWARD, Kind.MATMUL), what);
            assertEquals(2 * att, d.flops(Phase.BACKWARD, Kind.ATTENTION_MATMUL), what);
            assertEquals(0, d.flops(Phase.RECOMPUTE), what);

            LedgerReport r = LedgerReport.of(LedgerRun.of(cfg, B, T, 1), d, null);
            assertTrue(r.matmulExact(), what + "\n" + r.text());
            assertEquals(2.0, r.backwardOverForwardMatmul(), 0.0, what);
            assertEquals(mm + att, r.analyticMatmulFlops(Phase.FORWARD), what);
        }
    }

    @Test
    void aWholeStepWithAdamWReportsExactMatmulsAndMeasuredMemoryEqualToTheFormulas() {
        GptConfig cfg = new GptConfig(29, 17, 3, 48, 3);
        int B = 2;
        int T = 17;
        int steps = 2;
        Gpt m = new Gpt(cfg, B, 3);
        AdamW opt = AdamW.gptDefaults();
        Ledger.setEnabled(true);
        Ledger.Snapshot before = Ledger.snapshot();
        for (int s = 0; s < steps; s++) {
            Grads.zero(m.params());
            pass(m, B, T, 100 + s);
            Grads.clipGlobalNorm(m.params(), 1.0);
            opt.stepAndSync(m.params(), 1e-3f);
        }
        Ledger.Snapshot d = Ledger.snapshot().minus(before);
        MemoryByCategory mem = MemoryByCategory.measure(m, opt);
        LedgerReport r = LedgerReport.of(LedgerRun.of(cfg, B, T, steps), d, mem);
        String text = r.text();
        assertTrue(r.matmulExact(), text);
        assertEquals(2L * B * T, r.tokens());
        long P = cfg.parameterCount();
        // AdamW's update alone is 14·P + 2·(decayed), the rest of the optimizer phase is the global norm (2P + 1)
        // and, if it clipped, the scaling (P)
        long adam = 14 * P + 2 * 12L * 3 * 48 * 48;
        assertEquals(steps * adam, r.analyticOptimizerFlops());
        long rest = r.flops(Phase.OPTIMIZER) - r.analyticOptimizerFlops();
        assertTrue(rest == steps * (2 * P + 1) || rest == steps * (2 * P + 1) + P || rest == steps * (3 * P + 1),
                "optimizer remainder " + rest + "\n" + text);
        // memory: every measured category equals its formula
        for (LedgerReport.MemoryLine ml : r.memoryLines()) {
            if (ml.measured() >= 0) {
                assertEquals(ml.formula(), ml.measured(), ml.label() + "\n" + text);
            }
        }
        assertEquals(16 * P, mem.modelStates());
        assertFalse(text.contains("MISMATCH"), text);
        System.out.println(text);
    }

    @Test
    void gpt2sBuffersFollowTheirFormulas() {
        // the layout is recorded as the layers allocate; for GPT-2 it must equal the formulas of ActivationLayout's
        // Javadoc (N = B·T rows): per layer 16·N·C + 4·N + NH·B·T² floats, outside 2·N·C + 3·N + 2·N·V,
        // backward scratch 14·N·C + NH·B·T² (the logits' gradient overwrites the probabilities, outside); with
        // recomputation each layer keeps N·C
        for (Object[] c : CASES) {
            GptConfig cfg = (GptConfig) c[0];
            for (int B : new int[]{1, 3}) {
                long T = cfg.context();
                long N = B * T;
                long C = cfg.dModel();
                long V = cfg.vocab();
                long att = B * cfg.heads() * T * T;
                for (boolean re : new boolean[]{false, true}) {
                    Gpt m = new Gpt(cfg, B, re);
                    ActivationLayout lay = m.layout();
                    long layer = 4 * (16 * N * C + 4 * N + att);
                    if (re) {
                        assertEquals(4 * N * C, lay.perLayerBytes(), cfg + " B=" + B);
                        assertEquals(layer - 4 * N * C, lay.sharedBytes(), cfg + " B=" + B);
                    } else {
                        assertEquals(layer, lay.perLayerBytes(), cfg + " B=" + B);
                        assertEquals(0, lay.sharedBytes());
                    }
                    assertEquals(4 * (2 * N * C + 3 * N + 2 * N * V), lay.outsideBytes(), cfg + " B=" + B);
                    assertEquals(4 * (14 * N * C + att), lay.workspaceBytes(), cfg + " B=" + B);
                    // the dry layout (nothing allocated) is the same
                    assertEquals(lay, Gpt.layout(cfg, B, re));
                    MemoryByCategory mem = MemoryByCategory.measure(m, null);
                    assertEquals(lay.savedForBackwardBytes(), mem.activations());
                    assertEquals(lay.workspaceBytes(), mem.workspace());
                }
            }
        }
    }

    @Test
    void mixedPrecisionWorkingCopiesAreMeasuredAs4BytesAndReportedBesideTheNominal2() {
        GptConfig cfg = new GptConfig(29, 17, 1, 16, 2);
        Gpt m = new Gpt(cfg, 1, 1);
        for (var p : m.params()) {
            p.setWorkingDtype(DType.BF16);
        }
        AdamW opt = AdamW.gptDefaults();
        opt.init(m.params());
        MemoryByCategory mem = MemoryByCategory.measure(m, opt);
        long P = cfg.parameterCount();
        assertEquals(20 * P, mem.modelStates());
        LedgerReport r = LedgerReport.of(LedgerRun.of(cfg, 1, 17, 1).withWeightDtype(DType.BF16), pass(m, 1, 17, 3),
                mem);
        for (LedgerReport.MemoryLine ml : r.memoryLines()) {
            if (ml.measured() >= 0) {
                assertEquals(ml.formula(), ml.measured(), ml.label() + "\n" + r.text());
            }
        }
        assertTrue(r.text().contains("(2+2+12)·P"), r.text());
    }
}
