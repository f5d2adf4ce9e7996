package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.nn.plan.PlanInput.InferDtype;
import dev.sixpd.nn.plan.PlanInput.Precision;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The formulas added for issue 14 (bytes per parameter, memory totals, device counts, FLOP budgets, datasets in
 * bytes and characters, MFU of a real run, purchase cost, tensor/pipeline/data parallelism, KV cache), each against
 * a value computed by hand in the comment beside it.
 */
class PlannerTextbookTest {
    private static final double REL = 1e-12;

    private static void close(double expected, double actual) {
        assertEquals(expected, actual, Math.abs(expected) * REL);
    }

    /** A 7B-class architecture: L = 32, h = 4096, a = 32, V = 32,000, s = 2,048, P given as 7e9. */
    private static PlanInput.Builder sevenB() {
        return PlanInput.builder().params(7e9).arch(32, 4096, 32, 32000, 2048);
    }

    @Test
    void bytesPerParameterPresets() {
        assertEquals(16, StateLayout.parse("16").total());
        assertEquals(18, StateLayout.parse("18").total());
        assertEquals(20, StateLayout.parse("20").total());
        assertEquals(12, StateLayout.parse("12").total());
        assertEquals(StateLayout.SGD_MOMENTUM, StateLayout.parse("sgd"));
        assertEquals(StateLayout.FP32_ADAM, StateLayout.parse("4+4+8"));
        StateLayout odd = StateLayout.parse("2 + 2 + 4");
        assertEquals(8, odd.total());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StateLayout.parse("17")).getMessage()
                .contains("W+G+O"));
        // (x + y + 12)·P for x = y = 4 on 1B: 20 GB plain; ZeRO-1 on 4: 8 GB + 12 GB / 4 = 11 GB
        PlanReport r = Planner.plan(PlanInput.builder().params(1e9).states(StateLayout.RULE_FP32).devices(4).build());
        assertEquals(20e9, r.value("memory.dp"));
        assertEquals(11e9, r.value("memory.zero1"));
        // ZeRO-2: 4 GB + 16 GB / 4 = 8 GB; ZeRO-3: 20 GB / 4 = 5 GB
        assertEquals(8e9, r.value("memory.zero2"));
        assertEquals(5e9, r.value("memory.zero3"));
        assertEquals("x + y + z = 4 + 4 + 12 = 20 B", r.get("input.bytesPerParam").formula());
        // 18 on 7B: 126 GB, "18Ψ = 18 × 7e9"
        PlanReport r18 = Planner.plan(PlanInput.builder().params(7e9).states(StateLayout.parse("18")).build());
        assertEquals(126e9, r18.value("memory.dp"));
        assertTrue(r18.get("memory.dp").formula().startsWith("18Ψ = 18 × 7e9"), r18.get("memory.dp").formula());
    }

    @Test
    void fp32PrecisionSaysItChangesPeakAndLayout() {
        PlanReport r = Planner.plan(PlanInput.builder().params(1e9).hardware("a100").precision(Precision.FP32)
                .build());
        String note = r.get("input.peak").note();
        assertTrue(note.contains("changes two things") && note.contains("peak") && note.contains("memory layout"),
                note);
        assertTrue(r.get("input.bytesPerParam").note().contains("from --precision fp32"));
        // a layout given apart keeps the FP32 peak but 2 + 2 + 12 states
        PlanReport apart = Planner.plan(PlanInput.builder().params(1e9).hardware("a100").precision(Precision.FP32)
                .states(StateLayout.MIXED_ADAM).build());
        assertEquals(19.5e12, apart.value("input.peak"));
        assertEquals(16e9, apart.value("memory.dp"));
    }

    @Test
    void memoryQuestionsNeedNoHardware() {
        PlanReport r = Planner.plan(PlanInput.builder().params(7e9).memoryBytes(24e9).devices(8).build());
        assertEquals(14e9, r.value("memory.zero3"));
        assertTrue(r.get("memory.zero3").note().contains("fits in 24.0 GB"), r.get("memory.zero3").note());
        assertTrue(Double.isNaN(r.value("time.wall")));
        assertTrue(r.get("input.peak").note().contains("memory lines do not"));
        // and no memory at all: values without verdicts
        PlanReport bare = Planner.plan(PlanInput.builder().params(7e9).build());
        assertEquals(112e9, bare.value("memory.dp"));
        assertTrue(Double.isNaN(bare.value("devices.quickRule")));
    }

    @Test
    void quickRuleForSevenBOnRtx4090() {
        // P · 18 · 1.25 / M = 7e9 × 18 × 1.25 / 24e9 = 1.575e11 / 2.4e10 = 6.5625 -> 7 cards
        PlanReport r = Planner.plan(PlanInput.builder().params(7e9).hardware("RTX 4090")
                .states(StateLayout.MIXED_ADAM_FP32_GRADS).build());
        assertEquals(7, r.value("devices.quickRule"));
        assertTrue(r.get("devices.quickRule").formula().endsWith("= ⌈6.56⌉ = 7"), r.get("devices.quickRule").formula());
    }

    @Test
    void activationsAndTotalsForSevenBOnSevenCards() {
        PlanReport r = Planner.plan(sevenB().memoryBytes(24e9).devices(7).states(StateLayout.MIXED_ADAM).build());
        // per layer: s·b·h·(34 + 5·a·s/h) = 2048 × 4096 × (34 + 5 × 32 × 2048 / 4096) = 8,388,608 × 114
        assertEquals(956_301_312, r.value("activations.perLayer"));
        // 32 layers: 30,601,641,984 B = 30.6 GB = 28.5 GiB (30,601,641,984 / 2^30 = 28.50)
        assertEquals(30_601_641_984.0, r.value("activations.total"));
        assertEquals("30.6 GB = 28.5 GiB", r.get("activations.total").display());
        // workspace: 8·s·b·V = 8 × 2048 × 32,000 = 524,288,000
        assertEquals(524_288_000, r.value("memory.workspace"));
        // ZeRO-3 on 7: 16 × 7e9 / 7 = 16 GB states, which "fit in 24 GB" alone; the total does not
        assertEquals(16e9, r.value("memory.zero3"));
        assertTrue(r.get("memory.zero3").note().contains("fits"));
        assertEquals(16e9 + 30_601_641_984.0 + 524_288_000, r.value("memory.totalZero3"));
        assertTrue(r.get("memory.totalZero3").note().startsWith("exceeds 24.0 GB"), r.get("memory.totalZero3").note());
        // without recomputation no count of 24 GB cards suffices: 30.6 GB + 0.52 GB > 24 GB
        assertTrue(Double.isNaN(r.value("devices.withActivations")));
        assertTrue(r.get("devices.withActivations").note().contains("no number of devices suffices"));
    }

    @Test
    void recomputationMakesSevenBFitAndCountsDevices() {
        PlanReport r = Planner.plan(sevenB().memoryBytes(24e9).devices(7).recompute(true)
                .states(StateLayout.MIXED_ADAM).build());
        // kept: 2·s·b·h·L = 2 × 2048 × 4096 × 32 = 536,870,912; plus one layer while recomputed: 956,301,312
        assertEquals(536_870_912, r.value("activations.recompute"));
        double act = 536_870_912.0 + 956_301_312.0;
        assertEquals(16e9 + act + 524_288_000, r.value("memory.totalZero3")); // 18.02 GB: fits
        assertTrue(r.get("memory.totalZero3").note().startsWith("fits in 24.0 GB"));
        // N = ⌈16 × 7e9 / (24e9 − 1,493,172,224 − 524,288,000)⌉ = ⌈1.12e11 / 21,982,539,776⌉ = ⌈5.095⌉ = 6
        assertEquals(6, r.value("devices.withActivations"));
        assertTrue(r.get("devices.withActivations").formula().endsWith("= ⌈5.09⌉ = 6"),
                r.get("devices.withActivations").formula());
    }

    @Test
    void tensorAndSequenceParallelActivations() {
        // t = 4, eq. 2: 8,388,608 × (10 + 24/4 + 5 × 32 × 2048 / (4096 × 4)) = 8,388,608 × 36 = 301,989,888
        PlanReport tp = Planner.plan(sevenB().tensorParallel(4).devices(8).build());
        assertEquals(301_989_888, tp.value("activations.perLayer"));
        assertEquals(2, tp.value("parallel.dp"));
        // weights per device: 2 × 7e9 / 4 = 3.5 GB; states: Ψ = 7e9 / 4 = 1.75e9, ZeRO-3 over d = 2: 16Ψ/2 = 14 GB
        assertEquals(3.5e9, tp.value("parallel.weights"));
        assertEquals(1.75e9, tp.value("memory.psi"));
        assertEquals(14e9, tp.value("memory.zero3"));
        assertTrue(tp.get("memory.zero3").formula().startsWith("16Ψ/d = 16 × 1.75e9 / 2"));
        // workspace with a vocabulary-parallel head: 524,288,000 / 4 = 131,072,000
        assertEquals(131_072_000, tp.value("memory.workspace"));
        // eq. 4 (sequence parallel): 8,388,608 × 114 / 4 = 239,075,328
        PlanReport spr = Planner.plan(sevenB().tensorParallel(4).sequenceParallel(true).build());
        assertEquals(239_075_328, spr.value("activations.perLayer"));
        assertEquals(4, spr.value("time.devices")); // N = t·p·d = 4 × 1 × 1
        // recompute with sequence parallelism: 2·s·b·h/t per layer = 2 × 2048 × 4096 / 4 × 32 = 134,217,728
        assertEquals(134_217_728, spr.value("activations.recompute"));
    }

    @Test
    void pipelineStagesBubbleAndInFlightActivations() {
        // p = 4, m = 8: L/p = 8 layers per stage, bubble (4 − 1)/(8 + 4 − 1) = 3/11
        PlanReport r = Planner.plan(sevenB().pipelineStages(4).microBatches(8).devices(16).hardware("a100")
                .tokens(1e10).build());
        assertEquals(8, r.value("parallel.layersPerStage"));
        close(3.0 / 11, r.value("parallel.bubble"));
        assertEquals(4, r.value("parallel.dp"));
        // the first stage holds min(m, p) = 4 micro-batches of its 8 layers: 32 layers' worth, as without a pipeline
        assertEquals(32 * 956_301_312.0, r.value("activations.total"));
        // with m = 2 only 2 are in flight: 16 layers' worth
        PlanReport m2 = Planner.plan(sevenB().pipelineStages(4).microBatches(2).build());
        assertEquals(16 * 956_301_312.0, m2.value("activations.total"));
        close(3.0 / 5, m2.value("parallel.bubble"));
        // time with the bubble: T / (1 − 3/11) = T × 11/8
        close(r.value("time.wall") * 11 / 8, r.value("time.withBubble"));
        // global batch b·m·d = 1 × 8 × 4 = 32 sequences
        assertEquals(32, r.value("parallel.batch"));
        // uneven stages: ⌈32 / 5⌉ = 7
        PlanReport uneven = Planner.plan(sevenB().pipelineStages(5).build());
        assertEquals(7, uneven.value("parallel.layersPerStage"));
        assertTrue(uneven.get("parallel.layersPerStage").formula().contains("⌈6.4⌉ = 7"));
    }

    @Test
    void deviceCountsMultiplyAndMustBeWhole() {
        PlanReport r = Planner.plan(PlanInput.builder().params(7e9).tensorParallel(2).pipelineStages(4).devices(64)
                .build());
        assertEquals(8, r.value("parallel.dp"));
        assertEquals("N = t·p·d = 2 × 4 × 8 = 64", r.get("parallel.devices").formula());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PlanInput.builder().params(7e9)
                .tensorParallel(3).devices(8).build()).getMessage().contains("not a multiple of t·p = 3"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PlanInput.builder().params(7e9)
                .tensorParallel(2).dataParallel(4).devices(16).build()).getMessage().contains("not t·p·d"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> sevenB().tensorParallel(3).build())
                .getMessage().contains("must divide the heads"));
        // a deadline with t·p = 8 rounds N up to a multiple of 8:
        // 6e19 / (86400 × 1.248e14) = 5.56 devices -> 8 × ⌈5.56 / 8⌉ = 8
        PlanReport dl = Planner.plan(PlanInput.builder().params(1e9).tokens(1e10).hardware("a100")
                .tensorParallel(8).deadlineSeconds(86400).build());
        assertEquals(8, dl.value("time.devices"));
    }

    @Test
    void flopBudgetGivesTheThirdQuantity() {
        // Chinchilla's budget alone: P = √(5.76e23 / 120) = √(4.8e21) = 6.928e10, D = 20·P = 1.386e12
        PlanReport r = Planner.plan(PlanInput.builder().flops(5.76e23).build());
        close(Math.sqrt(4.8e21), r.value("input.params"));
        close(20 * Math.sqrt(4.8e21), r.value("input.tokens"));
        close(5.76e23, r.value("compute.flops"));
        assertEquals("6.93e10", r.get("input.params").display());
        // with P: D = C / (6·P) = 6e19 / 6e9 = 1e10
        close(1e10, Planner.plan(PlanInput.builder().flops(6e19).params(1e9).build()).value("input.tokens"));
        // with D: P = C / (6·D) = 6e19 / 6e10 = 1e9
        close(1e9, Planner.plan(PlanInput.builder().flops(6e19).tokens(1e10).build()).value("input.params"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PlanInput.builder().flops(6e19).params(1e9)
                .tokens(1e10).build()).getMessage().contains("not all three"));
    }

    @Test
    void datasetInCharactersBytesAndEpochs() {
        // 1e9 CJK characters × 3 B = 3e9 B; / 4 B per token = 7.5e8 tokens; × 2 epochs = 1.5e9
        PlanReport r = Planner.plan(PlanInput.builder().params(1e8).dataChars(1e9)
                .bytesPerChar(Scripts.bytesPerChar("cjk")).bytesPerToken(4).epochs(2).build());
        assertEquals(3e9, r.value("input.dataBytes"));
        assertEquals(7.5e8, r.value("input.tokensPerEpoch"));
        assertEquals(1.5e9, r.value("input.tokens"));
        // 1 TB / 4 B per token = 2.5e11 tokens
        PlanReport b = Planner.plan(PlanInput.builder().params(1e9).dataBytes(1e12).bytesPerToken(4).build());
        assertEquals(2.5e11, b.value("input.tokens"));
        // tokens × epochs: 1e10 × 3 = 3e10
        assertEquals(3e10, Planner.plan(PlanInput.builder().params(1e9).tokens(1e10).epochs(3).build())
                .value("input.tokens"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PlanInput.builder().params(1e9)
                .dataBytes(1e12).build()).getMessage().contains("--bytes-per-token"));
    }

    @Test
    void scriptsMatchUtf8() {
        // the table against Java's own UTF-8 encoder, one character of each script
        String[][] samples = {{"ascii", "a"}, {"cyrillic", "ж"}, {"greek", "λ"}, {"arabic", "ب"},
            {"hebrew", "א"}, {"cjk", "中"}, {"japanese", "の"}, {"korean", "한"}, {"hindi", "क"}, {"emoji", "😀"}};
        for (String[] s : samples) {
            int cp = s[1].codePointAt(0);
            int utf8 = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            assertEquals(utf8, Scripts.bytesPerChar(s[0]), s[0]);
        }
        assertThrows(IllegalArgumentException.class, () -> Scripts.bytesPerChar("klingon"));
    }

    @Test
    void utilisationImpliedByOpt175b() {
        // OPT-175B: 6 × 175e9 × 180e9 = 1.89e23 FLOPs on 992 A100s (312e12) over 60 days = 5,184,000 s:
        // MFU = 1.89e23 / (992 × 312e12 × 5,184,000) = 1.89e23 / 1.6045e24 = 0.1178
        PlanReport r = Planner.plan(PlanInput.builder().params(175e9).tokens(180e9).hardware("a100").devices(992)
                .durationSeconds(60 * 86400).build());
        close(1.89e23 / (992 * 312e12 * 5_184_000), r.value("input.mfu"));
        assertEquals("0.118", r.get("input.mfu").display());
        assertEquals(5_184_000, r.value("time.wall"));
        assertThrows(IllegalArgumentException.class, () -> PlanInput.builder().params(1e9).hardware("a100")
                .durationSeconds(1e5).deadlineSeconds(1e5).build());
    }

    @Test
    void purchaseCostBesideRental() {
        // N = 8 at $15,000: 120,000; other 30%: 36,000; data centre 10% of 156,000: 15,600
        // energy: 8 × 400 W × T × 1.2 / 3.6e6 kWh at $0.10, T = 6e19 / (8 × 312e12 × 0.4)
        PlanReport r = Planner.plan(PlanInput.builder().params(1e9).tokens(1e10).hardware("a100").devices(8)
                .devicePrice(15000).kwhPrice(0.1).staffCost(5000).build());
        assertEquals(120_000, r.value("cost.buy.devices"));
        assertEquals(36_000, r.value("cost.buy.otherHardware"));
        close(15_600, r.value("cost.buy.datacenter"));
        double t = 6e19 / (8 * 312e12 * 0.4);
        double kwh = 8 * 400 * t * 1.2 / 3.6e6;
        close(kwh * 0.1, r.value("cost.buy.energy"));
        close(120_000 + 36_000 + 15_600 + kwh * 0.1 + 5000, r.value("cost.buy.total"));
        // rental is unchanged beside it
        close(8 * t / 3600 * 2.0, r.value("cost.devices"));
    }

    @Test
    void kvCacheAndInferenceTotal() {
        // 2·L·h·T·b × 2 B = 2 × 32 × 4096 × 2048 × 1 × 2 = 1,073,741,824 B
        PlanReport r = Planner.plan(sevenB().memoryBytes(24e9).build());
        assertEquals(1_073_741_824, r.value("inference.kvCache"));
        assertEquals(14e9 + 1_073_741_824, r.value("inference.total"));
        assertTrue(r.get("inference.total").note().startsWith("fits in 24.0 GB"));
        // INT4 weights keep a 16-bit cache; 8 sequences of 4,096 tokens: 2 × 32 × 4096 × 4096 × 8 × 2 = 17,179,869,184
        PlanReport q = Planner.plan(sevenB().inferDtype(InferDtype.INT4).inferBatch(8).context(4096)
                .memoryBytes(24e9).build());
        assertEquals(17_179_869_184.0, q.value("inference.kvCache"));
        assertEquals(3.5e9 + 17_179_869_184.0, q.value("inference.total"));
        assertTrue(q.get("inference.total").note().startsWith("fits"));
    }

    @Test
    void optimizerFlopsArePaidPerStep() {
        // 16·P per step; steps = D / (s·b·m·d) = 1.4e11 / (2048 × 4 × 8 × 64) = 1.4e11 / 4,194,304
        PlanReport r = Planner.plan(sevenB().tokens(1.4e11).microBatch(4).microBatches(8).devices(64).build());
        close(16 * 7e9 * 1.4e11 / 4_194_304, r.value("compute.optimizer"));
        // forward + backward = 2·P·D + 4·P·D = 6·P·D
        close(r.value("compute.flops"), r.value("compute.forward") + r.value("compute.backward"));
        close(2 * 7e9 * 1.4e11, r.value("compute.forward"));
    }
}
