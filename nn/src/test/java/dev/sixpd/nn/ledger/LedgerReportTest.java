package dev.sixpd.nn.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Ledger.Kind;
import dev.sixpd.tensor.Ledger.Phase;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report's arithmetic on hand-made ledger snapshots. */
class LedgerReportTest {
    private static final int K = Kind.values().length;
    /** V=29, T=17, L=3, C=48, NH=3: P = 29·48 + 17·48 + 3·(12·48² + 13·48) + 2·48 = 87,120. */
    private static final GptConfig ODD = new GptConfig(29, 17, 3, 48, 3);

    /** A snapshot with {@code flops[phase][kind]} as given (bytes zero). */
    private static Ledger.Snapshot snapshot(long[][] byPhaseKind) {
        long[] f = new long[Phase.values().length * K];
        for (Phase p : Phase.values()) {
            for (Kind k : Kind.values()) {
                f[p.ordinal() * K + k.ordinal()] = byPhaseKind[p.ordinal()][k.ordinal()];
            }
        }
        return new Ledger.Snapshot(f, new long[f.length]);
    }

    private static long[][] empty() {
        return new long[Phase.values().length][K];
    }

    private static void set(long[][] a, Phase p, Kind k, long v) {
        a[p.ordinal()][k.ordinal()] = v;
    }

    @Test
    void handCase() {
        // B=2, T=17, 5 steps of 1 micro-batch: D = 5·2·17 = 170 tokens
        LedgerRun run = LedgerRun.of(ODD, 2, 17, 5);
        assertEquals(170, run.tokens());
        long P = 87_120;
        assertEquals(P, ODD.parameterCount());
        // N = 3·12·48² + 29·48 = 82,944 + 1,392 = 84,336; forward matmuls 2·N·D = 28,674,240
        long fwdMm = 2L * 84_336 * 170;
        assertEquals(28_674_240L, fwdMm);
        // attention 2·L·C·(T+1)·D = 2·3·48·18·170 = 881,280
        long fwdAtt = 881_280;
        long[][] a = empty();
        set(a, Phase.FORWARD, Kind.MATMUL, fwdMm);
        set(a, Phase.FORWARD, Kind.ATTENTION_MATMUL, fwdAtt);
        set(a, Phase.FORWARD, Kind.SOFTMAX, 1_000);
        set(a, Phase.FORWARD, Kind.NORM, 2_000);
        set(a, Phase.FORWARD, Kind.ELEMENTWISE, 3_000);
        set(a, Phase.FORWARD, Kind.LOSS, 4_000);
        set(a, Phase.BACKWARD, Kind.MATMUL, 2 * fwdMm);
        set(a, Phase.BACKWARD, Kind.ATTENTION_MATMUL, 2 * fwdAtt);
        set(a, Phase.BACKWARD, Kind.NORM, 10_000);
        // AdamW with decay, 5 steps: 5·(14·87,120 + 2·82,944) = 5·(1,219,680 + 165,888) = 6,927,840; + 5·1 extra
        set(a, Phase.OPTIMIZER, Kind.ELEMENTWISE, 6_927_845);
        LedgerReport r = LedgerReport.of(run, snapshot(a), null);

        assertTrue(r.matmulExact(), r.text());
        assertEquals(6_927_840L, r.analyticOptimizerFlops());
        long fwd = fwdMm + fwdAtt + 10_000;
        long bwd = 2 * fwdMm + 2 * fwdAtt + 10_000;
        long total = fwd + bwd + 6_927_845;
        assertEquals(fwd, r.flops(Phase.FORWARD));
        assertEquals(total, r.totalFlops());
        assertEquals(total / 170.0, r.perToken(r.totalFlops()), 1e-9);
        // 6·P·D = 6 · 87,120 · 170 = 88,862,400
        assertEquals(88_862_400L, r.sixPD());
        assertEquals((double) total / 88_862_400L, r.ratioTo6PD(), 1e-15);
        assertEquals((double) bwd / fwd, r.backwardOverForward(), 1e-15);
        assertEquals(2.0, r.backwardOverForwardMatmul(), 0.0);

        String t = r.text();
        assertTrue(t.contains("6·P·D = 6 × 87,120 × 170 = 88,862,400"), t);
        assertTrue(t.contains("2·N·D = 2 × 84,336 × 170 = 28,674,240; measured 28,674,240  ✓ equal"), t);
        assertTrue(t.contains("D = steps × micro-batches × B × T = 5 × 1 × 2 × 17 = 170 tokens"), t);
        assertTrue(t.contains("P = V·C + T·C + L·(12C² + 13C) + 2C with V=29 T=17 L=3 C=48 = 87,120"), t);
        assertTrue(t.contains("N = V·C + L·(12C²) = 84,336"), t);
        assertFalse(t.contains("MISMATCH"), t);
        assertFalse(t.contains("8·P·D"), t);

        String sum = r.summary();
        assertTrue(sum.contains("total ÷ 6·P·D = " + String.format(java.util.Locale.ROOT, "%,d", total)
                + " ÷ 88,862,400 = "), sum);
        assertTrue(sum.contains("matmul FLOPs equal the formulas"), sum);
        assertFalse(sum.contains("-1 bytes"), sum);
    }

    @Test
    void aMatmulOffByOneIsFlagged() {
        LedgerRun run = LedgerRun.of(ODD, 2, 17, 1);
        Analytic an = new Analytic(ODD, 2, 17);
        long[][] a = empty();
        set(a, Phase.FORWARD, Kind.MATMUL, an.forwardMatmulFlopsPerPass());
        set(a, Phase.FORWARD, Kind.ATTENTION_MATMUL, an.forwardAttentionFlopsPerPass() + 1);
        set(a, Phase.BACKWARD, Kind.MATMUL, an.backwardMatmulFlopsPerPass());
        set(a, Phase.BACKWARD, Kind.ATTENTION_MATMUL, an.backwardAttentionFlopsPerPass());
        LedgerReport r = LedgerReport.of(run, snapshot(a), null);
        assertFalse(r.matmulExact());
        assertTrue(r.text().contains("✗ MISMATCH by 1"), r.text());
        assertTrue(r.text().contains("WARNING"), r.text());

        // a matmul charged to the optimizer, or outside the training phases, is flagged too
        set(a, Phase.FORWARD, Kind.ATTENTION_MATMUL, an.forwardAttentionFlopsPerPass());
        assertTrue(LedgerReport.of(run, snapshot(a), null).matmulExact());
        set(a, Phase.OTHER, Kind.MATMUL, 10);
        assertFalse(LedgerReport.of(run, snapshot(a), null).matmulExact());
    }

    @Test
    void microBatchesAndRecomputation() {
        // 3 steps × 2 micro-batches of B=2, T=17: 6 passes, D = 204; recomputing all 3 blocks
        LedgerRun run = LedgerRun.of(ODD, 2, 17, 3).withMicrobatches(2).withRecompute(true);
        assertEquals(6, run.passes());
        assertEquals(204, run.tokens());
        Analytic an = new Analytic(ODD, 2, 17);
        long[][] a = empty();
        set(a, Phase.FORWARD, Kind.MATMUL, 6 * an.forwardMatmulFlopsPerPass());
        set(a, Phase.FORWARD, Kind.ATTENTION_MATMUL, 6 * an.forwardAttentionFlopsPerPass());
        set(a, Phase.BACKWARD, Kind.MATMUL, 6 * an.backwardMatmulFlopsPerPass());
        set(a, Phase.BACKWARD, Kind.ATTENTION_MATMUL, 6 * an.backwardAttentionFlopsPerPass());
        // recompute: the blocks' linear layers 2·12·L·C²·D = 24·3·2304·204 and the attention again
        long recMm = 24L * 3 * 2304 * 204;
        set(a, Phase.RECOMPUTE, Kind.MATMUL, recMm);
        set(a, Phase.RECOMPUTE, Kind.ATTENTION_MATMUL, 6 * an.forwardAttentionFlopsPerPass());
        LedgerReport r = LedgerReport.of(run, snapshot(a), null);
        assertTrue(r.matmulExact(), r.text());
        assertEquals(8L * 87_120 * 204, r.eightPD());
        assertEquals((double) r.totalFlops() / r.eightPD(), r.ratioTo8PD(), 1e-15);
        assertEquals(3L * an.adamwFlopsPerStep(true), r.analyticOptimizerFlops());
        assertTrue(r.text().contains("8·P·D = 8 × 87,120 × 204"), r.text());
        assertTrue(r.text().contains("2·Nb·Lr·D, Nb = 12C² (a block's linear weights) = 2 × 27,648 × 3 × 204 = "
                + LedgerReport.g(recMm)), r.text());
        // the memory table uses the recomputation layout and states what it saves
        boolean saves = false;
        for (LedgerReport.MemoryLine ml : r.memoryLines()) {
            if (ml.key().equals("recompute_saves")) {
                saves = true;
                ActivationLayout full = dev.sixpd.nn.Gpt.layout(ODD, 2, false);
                assertEquals(2 * (full.perLayerBytes() - 4L * 2 * 17 * 48), ml.formula());
            }
        }
        assertTrue(saves, r.text());
    }

    @Test
    void memoryFormulasWithoutMeasurement() {
        LedgerRun run = LedgerRun.of(ODD, 2, 17, 1);
        LedgerReport r = LedgerReport.of(run, snapshot(empty()), null);
        long P = 87_120;
        for (LedgerReport.MemoryLine ml : r.memoryLines()) {
            assertEquals(-1, ml.measured());
            switch (ml.key()) {
                case "master_weights", "grads" -> assertEquals(4 * P, ml.formula());
                case "working_weights" -> assertEquals(0, ml.formula());
                case "optimizer_state" -> assertEquals(8 * P, ml.formula());
                case "model_states" -> assertEquals(16 * P, ml.formula());
                // per layer 34·s·b·h + 5·a·s²·b = 34·1,632 + 5·3·289·2 = 64,158; × 3 layers
                case "korthikanti_16bit" -> assertEquals(3 * 64_158L, ml.formula());
                case "korthikanti_fp32" -> assertEquals(6 * 64_158L, ml.formula());
                // sixpd per layer 64·1,632 + 4·3·289·2 + 16·34 = 104,448 + 6,936 + 544 = 111,928 vs 128,316
                case "layer_difference" -> assertEquals(111_928L - 128_316L, ml.formula());
                default -> {
                }
            }
        }
        assertEquals(111_928L, dev.sixpd.nn.Gpt.layout(ODD, 2, false).perLayerBytes());
    }

    @Test
    void jsonCarriesTheNumbersExactly() throws Exception {
        LedgerRun run = LedgerRun.of(ODD, 2, 17, 5);
        Analytic an = new Analytic(ODD, 2, 17);
        long[][] a = empty();
        set(a, Phase.FORWARD, Kind.MATMUL, 5 * an.forwardMatmulFlopsPerPass());
        set(a, Phase.FORWARD, Kind.ATTENTION_MATMUL, 5 * an.forwardAttentionFlopsPerPass());
        set(a, Phase.BACKWARD, Kind.MATMUL, 5 * an.backwardMatmulFlopsPerPass());
        set(a, Phase.BACKWARD, Kind.ATTENTION_MATMUL, 5 * an.backwardAttentionFlopsPerPass());
        set(a, Phase.FORWARD, Kind.SOFTMAX, 123_456_789_012_345_678L); // beyond a double's 2⁵³: must stay exact
        LedgerReport r = LedgerReport.of(run, snapshot(a),
                new MemoryByCategory(1, 2, 3, 4, 5, 6));
        JsonNode j = new ObjectMapper().readTree(r.json());
        assertEquals(170, j.get("tokens").asLong());
        assertEquals(87_120, j.get("parameters").asLong());
        assertEquals(123_456_789_012_345_678L, j.at("/phases/forward/by_kind/softmax").asLong());
        assertTrue(j.get("matmul_exact").asBoolean());
        assertEquals(88_862_400L, j.get("six_pd").asLong());
        assertEquals(r.ratioTo6PD(), j.get("ratio_to_6pd").asDouble(), 0.0);
        assertEquals(1, j.at("/memory_bytes/master_weights/measured").asLong());
        assertEquals(21, j.at("/memory_bytes/total/measured").asLong());
        assertEquals(4 * 87_120, j.at("/memory_bytes/master_weights/formula").asLong());
        assertTrue(j.at("/phases/recompute/flops_per_token").isNumber());
        // nothing ran: ratios are null, not NaN
        JsonNode e = new ObjectMapper().readTree(LedgerReport.of(run, snapshot(empty()), null).json());
        assertTrue(e.get("backward_over_forward").isNull());
    }
}
