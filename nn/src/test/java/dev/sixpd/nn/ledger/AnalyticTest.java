package dev.sixpd.nn.ledger;

import dev.sixpd.nn.GptConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The formulas on hand-computed cases. */
class AnalyticTest {

    /** GPT-2 small: V=50257, T=1024, L=12, C=768, NH=12. */
    private static final GptConfig GPT2 = new GptConfig(50257, 1024, 12, 768, 12);

    @Test
    void gpt2SmallCounts() {
        Analytic a = new Analytic(GPT2, 1, 1024);
        // P = 50257·768 + 1024·768 + 12·(12·768² + 13·768) + 2·768 = 124,439,808 (GPT-2 small's published count)
        assertEquals(124_439_808L, a.parameters());
        // N = 12·12·768² + 50257·768 = 84,934,656 + 38,597,376
        assertEquals(123_532_032L, a.matmulParameters());
        assertEquals(84_934_656L, a.decayedParameters());
        assertEquals(2 * 123_532_032L, a.forwardMatmulFlopsPerToken());
        assertEquals(2 * 123_532_032L * 1024, a.forwardMatmulFlopsPerPass());
        assertEquals(2 * a.forwardMatmulFlopsPerPass(), a.backwardMatmulFlopsPerPass());
        // attention per token as executed: 2·L·C·(T+1) = 2·12·768·1025 = 18,892,800
        assertEquals(18_892_800L, a.forwardAttentionFlopsPerToken());
        assertEquals(18_892_800L * 1024, a.forwardAttentionFlopsPerPass());
        assertEquals(2 * a.forwardAttentionFlopsPerPass(), a.backwardAttentionFlopsPerPass());
        // full context, Kaplan: 4·L·T·C = 4·12·1024·768 = 37,748,736
        assertEquals(37_748_736L, a.forwardAttentionFlopsPerTokenFullContext());
        // recompute of all 12 blocks: 2·12·12·768²·1024 tokens; attention as forward
        assertEquals(2L * 12 * 12 * 768 * 768 * 1024, a.recomputeMatmulFlopsPerPass(12));
        assertEquals(a.forwardAttentionFlopsPerPass(), a.recomputeAttentionFlopsPerPass(12));
        assertEquals(0, a.recomputeMatmulFlopsPerPass(0));
        // AdamW: 14·P + 2·L·12C²
        assertEquals(14 * 124_439_808L + 2 * 84_934_656L, a.adamwFlopsPerStep(true));
        assertEquals(14 * 124_439_808L, a.adamwFlopsPerStep(false));
    }

    @Test
    void sixAndEightPD() {
        // 1M parameters on 1B tokens: 6·10⁶·10⁹ = 6·10¹⁵
        assertEquals(6_000_000_000_000_000L, Analytic.sixPD(1_000_000L, 1_000_000_000L));
        assertEquals(6L * 842_496 * 1_310_720, Analytic.sixPD(842_496, 1_310_720));
        assertEquals(8L * 842_496 * 1_310_720, Analytic.eightPD(842_496, 1_310_720));
        // exact counts are longs: a run past 9.2·10¹⁸ FLOPs is refused, not wrapped (the planner works in doubles)
        assertThrows(ArithmeticException.class, () -> Analytic.sixPD(1_000_000_000L, 10_000_000_000L));
    }

    @Test
    void modelStateFormulas() {
        // 7B: 16·P = 112 GB; mixed (2+2+12)·P the same; 20·P = 140 GB
        long p = 7_000_000_000L;
        assertEquals(112_000_000_000L, Analytic.modelStateBytesFp32Adam(p));
        assertEquals(112_000_000_000L, Analytic.modelStateBytesMixedAdam(p));
        assertEquals(140_000_000_000L, Analytic.modelStateBytesMixedAdamFp32Grads(p));
    }

    @Test
    void korthikantiActivationMemory() {
        // GPT-2 small layer, s=1024, b=1, h=768, a=12: 1024·768·(34 + 5·12·1024/768) = 1024·768·114 = 89,653,248
        assertEquals(89_653_248L, Analytic.korthikantiLayerBytes16(1024, 1, 768, 12));
        assertEquals(2 * 89_653_248L, Analytic.korthikantiLayerBytes32(1024, 1, 768, 12));
        // with recomputation only the block input: 2·s·b·h = 1,572,864
        assertEquals(1_572_864L, Analytic.korthikantiLayerBytesRecompute16(1024, 1, 768));
        // dropout: 2·s·b·h + 3·a·s²·b = 1,572,864 + 37,748,736
        assertEquals(39_321_600L, Analytic.korthikantiDropoutBytes16(1024, 1, 768, 12));
        // a case where 5·a·s/h is not whole: s=17, b=2, h=48, a=3 -> 34·1632 + 5·3·289·2 = 55,488 + 8,670
        assertEquals(64_158L, Analytic.korthikantiLayerBytes16(17, 2, 48, 3));
        // Megatron's GPT-3 175B example (Korthikanti table): s=2048, b=1, h=12288, a=96 per layer
        assertEquals(2048L * 12288 * (34 + 5 * 96 * 2048 / 12288), Analytic.korthikantiLayerBytes16(2048, 1, 12288, 96));
    }

    @Test
    void sixpdLayoutAgainstKorthikantiGpt2Small() {
        // per layer, FP32: 64·s·b·h + 4·a·s²·b + 16·s·b
        long s = 1024;
        long h = 768;
        long a = 12;
        ActivationLayout lay = dev.sixpd.nn.Gpt.layout(GPT2, 1, false);
        assertEquals(64 * s * h + 4 * a * s * s + 16 * s, lay.perLayerBytes());
        // = Korthikanti FP32 − dropout (at FP32) + LayerNorm statistics
        assertEquals(Analytic.korthikantiLayerBytes32(s, 1, h, a) - 2 * Analytic.korthikantiDropoutBytes16(s, 1, h, a)
                + 16 * s, lay.perLayerBytes());
        // outside the blocks: 8·s·b·h + 8·s·b·V + 12·s·b
        assertEquals(8 * s * h + 8 * s * 50257 + 12 * s, lay.outsideBytes());
        assertEquals(12 * lay.perLayerBytes() + lay.outsideBytes(), lay.savedForBackwardBytes());
        assertEquals(4 * (14 * s * h + a * s * s), lay.workspaceBytes());
        // recomputation keeps 4·s·b·h per layer (Korthikanti's 2·s·b·h doubled) and one shared layer set
        ActivationLayout rec = dev.sixpd.nn.Gpt.layout(GPT2, 1, true);
        assertEquals(2 * Analytic.korthikantiLayerBytesRecompute16(s, 1, h), rec.perLayerBytes());
        assertEquals(lay.perLayerBytes() - 4 * s * h, rec.sharedBytes());
        // saved: L·per layer − (L·4·s·b·h + one shared set) = (L − 1)·(per layer − 4·s·b·h)
        assertEquals(11 * (lay.perLayerBytes() - 4 * s * h), lay.savedForBackwardBytes() - rec.savedForBackwardBytes());
    }

    @Test
    void badInputIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Analytic(GPT2, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> new Analytic(GPT2, 1, 1025));
        assertThrows(IllegalArgumentException.class, () -> LedgerRun.of(GPT2, 1, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> LedgerRun.of(GPT2, 1, 10, 1).withRecomputedBlocks(13));
    }
}
