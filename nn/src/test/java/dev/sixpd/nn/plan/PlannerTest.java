package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.plan.PlanInput.Precision;
import org.junit.jupiter.api.Test;

/** The planner's formulas against hand-computed cases. */
class PlannerTest {
    private static final double REL = 1e-12;

    private static PlanInput.Builder oneB() {
        return PlanInput.builder().params(1e9).tokens(1e10).hardware("a100");
    }

    private static PlanInput.Builder gpt2Small() {
        // GPT-2 small: V = 50257, s = 1024, h = 768, L = 12, a = 12
        return PlanInput.builder().arch(12, 768, 12, 50257, 1024).tokens(1e10).hardware("a100");
    }

    private static void close(double expected, double actual) {
        assertEquals(expected, actual, Math.abs(expected) * REL);
    }

    @Test
    void oneBillionParamsOnTenBillionTokensIsSixTimesTenToTheNineteen() {
        PlanReport r = Planner.plan(oneB().build());
        close(6e19, r.value("compute.flops"));
        assertEquals("6·P·D = 6 × 1e9 × 1e10 = 6.00e19 FLOPs", r.get("compute.flops").formula());
        close(6e9, r.value("compute.perToken"));
        // PF-days = FLOPs / (1e15 · 86400) = 6e19 / 8.64e19
        close(6e19 / 8.64e19, r.value("compute.pfDays"));
        assertTrue(r.get("compute.pfDays").formula().endsWith("= 0.694 PF-days"), r.get("compute.pfDays").formula());
    }

    @Test
    void recomputationIsEightPD() {
        PlanReport r = Planner.plan(oneB().recompute(true).build());
        close(8e19, r.value("compute.flops"));
        assertTrue(r.get("compute.flops").formula().startsWith("8·P·D = 8 × 1e9 × 1e10"));
    }

    @Test
    void wallTimeOnA100sAtMfu04() {
        // T = 6e19 / (N × 312e12 × 0.4): one A100 4.81e5 s = 5.56 days, eight 6.01e4 s = 16.7 h
        PlanReport one = Planner.plan(oneB().build());
        close(6e19 / (312e12 * 0.4), one.value("time.wall"));
        assertEquals("5.56 days", one.get("time.wall").display());
        PlanReport eight = Planner.plan(oneB().devices(8).build());
        close(6e19 / (8 * 312e12 * 0.4), eight.value("time.wall"));
        assertEquals("16.7 h", eight.get("time.wall").display());
        // device-hours do not depend on N
        close(one.value("time.deviceHours"), eight.value("time.deviceHours"));
        close(6e19 / (312e12 * 0.4) / 3600, eight.value("time.deviceHours"));
    }

    @Test
    void devicesForADeadlineRoundUp() {
        // one day: 6e19 / (86400 × 1.248e14) = 5.56 -> 6 devices, then T = 6e19 / (6 × 1.248e14)
        PlanReport r = Planner.plan(oneB().deadlineSeconds(86400).build());
        assertEquals(6, r.value("time.devices"));
        close(6e19 / (6 * 312e12 * 0.4), r.value("time.wall"));
        assertTrue(r.value("time.wall") <= 86400);
        // a deadline met by one device needs one
        assertEquals(1, Planner.plan(oneB().deadlineSeconds(1e9).build()).value("time.devices"));
    }

    @Test
    void modelStatesUnderZeroForSevenBillionOnEightDevices() {
        PlanReport r = Planner.plan(PlanInput.builder().params(7e9).tokens(1e11).hardware("h100").devices(8).build());
        close(16 * 7e9, r.value("memory.dp")); // 112 GB: exceeds 80 GB
        assertTrue(r.get("memory.dp").note().contains("exceeds 80.0 GB"), r.get("memory.dp").note());
        close(4 * 7e9 + 12 * 7e9 / 8, r.value("memory.zero1")); // 38.5 GB
        close(2 * 7e9 + 14 * 7e9 / 8, r.value("memory.zero2")); // 26.25 GB
        close(16 * 7e9 / 8, r.value("memory.zero3")); // 14 GB
        assertEquals(14e9, r.value("memory.zero3"));
        assertEquals("14.0 GB = 13.0 GiB", r.get("memory.zero3").display()); // 14e9 / 2^30 = 13.04
        assertEquals("26.25 GB = 24.4 GiB", r.get("memory.zero2").display()); // not 26.3: the exact value shows
        assertEquals("16Ψ/N = 16 × 7e9 / 8 = 1.40e10 B", r.get("memory.zero3").formula());
        assertEquals("4Ψ + 12Ψ/N = 4 × 7e9 + 12 × 7e9 / 8 = 3.85e10 B", r.get("memory.zero1").formula());
        close(2 * 7e9, r.value("memory.offloadDevice"));
        close(14 * 7e9 / 8, r.value("memory.offloadHost"));
    }

    @Test
    void fp32ModelStatesUseFourFourEight() {
        PlanReport r = Planner.plan(PlanInput.builder().params(1e9).tokens(1e10).hardware("a100")
                .precision(Precision.FP32).devices(4).build());
        close(16e9, r.value("memory.dp"));
        close(8e9 + 8e9 / 4, r.value("memory.zero1"));
        close(4e9 + 12e9 / 4, r.value("memory.zero2"));
        close(16e9 / 4, r.value("memory.zero3"));
        // and the FP32 peak: 19.5 TFLOP/s
        close(19.5e12, r.value("input.peak"));
    }

    @Test
    void gpt2SmallHas124439808Parameters() {
        PlanReport r = Planner.plan(gpt2Small().build());
        assertEquals(124_439_808, r.value("input.params"));
        assertTrue(r.get("input.params").formula().endsWith("= 124,439,808"), r.get("input.params").formula());
        assertEquals(124_439_808, new PlanInput.Arch(12, 768, 12, 50257, 1024).params());
        // non-embedding: 12 × (12·768² + 13·768) + 2·768 = 85,056,000
        assertEquals(85_056_000, r.value("model.nonEmbedding"));
    }

    @Test
    void activationMemoryOnAHandCase() {
        // s=1024, b=1, h=768, a=12: 1024·768·(34 + 5·12·1024/768) = 786,432 × 114 = 89,653,248 B per layer
        PlanReport r = Planner.plan(gpt2Small().build());
        assertEquals(89_653_248, r.value("activations.perLayer"));
        assertEquals(12 * 89_653_248.0, r.value("activations.total"));
        // full recomputation: 2·s·b·h·L = 2 × 1024 × 768 × 12
        assertEquals(18_874_368, r.value("activations.recompute"));
        // batch 4 scales linearly; FP32 doubles
        PlanReport b4 = Planner.plan(gpt2Small().microBatch(4).build());
        assertEquals(4 * 89_653_248.0, b4.value("activations.perLayer"));
        PlanReport f32 = Planner.plan(gpt2Small().precision(Precision.FP32).build());
        assertEquals(2 * 89_653_248.0, f32.value("activations.perLayer"));
    }

    @Test
    void attentionTermIsListedApart() {
        PlanReport r = Planner.plan(gpt2Small().build());
        close(12.0 * 12 * 1024 * 768 * 1e10, r.value("compute.attention"));
        PlanReport rec = Planner.plan(gpt2Small().recompute(true).build());
        close(16.0 * 12 * 1024 * 768 * 1e10, rec.value("compute.attention"));
    }

    @Test
    void costAddsOverheadsAndStaff() {
        PlanReport r = Planner.plan(oneB().devices(8).pricePerDeviceHour(2.5).otherHardwarePercent(20)
                .datacenterPercent(50).staffCost(1000).build());
        double hours = 6e19 / (312e12 * 0.4) / 3600;
        close(hours * 2.5, r.value("cost.devices"));
        close(hours * 2.5 * 0.2, r.value("cost.otherHardware"));
        close(hours * 2.5 * 1.2 * 0.5, r.value("cost.datacenter"));
        close(hours * 2.5 * 1.2 * 1.5 + 1000, r.value("cost.total"));
    }

    @Test
    void energyFromRatedPowerTimesPue() {
        PlanReport r = Planner.plan(oneB().devices(2).pue(1.5).build());
        double t = 6e19 / (2 * 312e12 * 0.4);
        close(2 * 400 * t / 3.6e6, r.value("energy.devices"));
        close(2 * 400 * t / 3.6e6 * 1.5, r.value("energy.facility"));
        PlanReport w = Planner.plan(oneB().watts(300).build());
        close(300 * 6e19 / (312e12 * 0.4) / 3.6e6, w.value("energy.devices"));
    }

    @Test
    void inferenceWeightsByDtype() {
        PlanReport r = Planner.plan(PlanInput.builder().params(7e9).hardware("a10").build());
        close(28e9, r.value("inference.fp32"));
        close(14e9, r.value("inference.bf16"));
        close(7e9, r.value("inference.int8"));
        close(3.5e9, r.value("inference.int4"));
    }

    @Test
    void tokensDefaultToChinchillaAndStorageUsesMeasuredBytesPerToken() {
        PlanReport r = Planner.plan(PlanInput.builder().params(7e9).hardware("a100").bytesPerToken(4.25).build());
        close(1.4e11, r.value("input.tokens"));
        close(1.4e11, r.value("data.computeOptimal"));
        close(20, r.value("data.tokensPerParam"));
        close(1.4e11 * 4.25, r.value("data.textBytes"));
        PlanReport none = Planner.plan(oneB().build());
        assertTrue(Double.isNaN(none.value("data.textBytes")));
        assertTrue(none.get("data.textBytes").note().contains("BytesPerToken"));
        // token ids: uint16 for GPT-2's vocabulary
        close(2e10, Planner.plan(gpt2Small().build()).value("data.tokenIds"));
    }

    @Test
    void givenPeakReplacesTheCatalog() {
        PlanReport r = Planner.plan(PlanInput.builder().params(1e9).tokens(1e10).peakFlops(1e14).mfu(0.5).build());
        close(6e19 / 5e13, r.value("time.wall"));
        assertTrue(Double.isNaN(r.value("cost.devices")), "no price without hardware");
        assertTrue(Double.isNaN(r.value("energy.devices")), "no power without hardware");
    }

    @Test
    void v100UsesItsFp16TensorPeak() {
        PlanReport r = Planner.plan(PlanInput.builder().params(1e9).hardware("v100").build());
        close(125e12, r.value("input.peak"));
        assertTrue(r.get("input.peak").note().contains("FP16"));
    }

    @Test
    void badInputsGetClearErrors() {
        IllegalArgumentException e;
        e = assertThrows(IllegalArgumentException.class, () -> PlanInput.builder().params(-1).hardware("a100").build());
        assertTrue(e.getMessage().contains("params"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PlanInput.builder().params(1e9).hardware("b9000"));
        assertTrue(e.getMessage().contains("unknown hardware 'b9000'") && e.getMessage().contains("a100")
                && e.getMessage().contains("rtx4090") && e.getMessage().contains("this-cpu"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PlanInput.Arch(12, 770, 12, 50257, 1024));
        assertTrue(e.getMessage().contains("heads (12) must divide hidden (770)"), e.getMessage());
        for (double bad : new double[] {0, -0.1, 1.01, Double.NaN}) {
            e = assertThrows(IllegalArgumentException.class, () -> oneB().mfu(bad).build());
            assertTrue(e.getMessage().contains("mfu must be in (0, 1]"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> oneB().devices(-1).build());
        assertThrows(IllegalArgumentException.class, () -> oneB().tokens(-5).build());
        assertThrows(IllegalArgumentException.class, () -> oneB().deadlineSeconds(-1).build());
        assertThrows(IllegalArgumentException.class, () -> oneB().pue(0.9).build());
        assertThrows(IllegalArgumentException.class, () -> oneB().pricePerDeviceHour(-1).build());
        assertThrows(IllegalArgumentException.class, () -> oneB().microBatch(0).build());
        e = assertThrows(IllegalArgumentException.class, () -> PlanInput.builder().hardware("a100").build());
        assertTrue(e.getMessage().contains("parameter count"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PlanInput.builder().params(1e9).deadlineSeconds(86400).build());
        assertTrue(e.getMessage().contains("hardware name"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new PlanInput.Arch(0, 768, 12, 50257, 1024));
    }

    @Test
    void textAndJsonRenderEveryLine() throws Exception {
        PlanReport r = Planner.plan(gpt2Small().bytesPerToken(4.1).build());
        String text = r.text();
        for (PlanReport.Line l : r.lines()) {
            assertTrue(text.contains(l.formula()), "text lacks " + l.key());
        }
        assertTrue(text.startsWith("inputs\n"));
        JsonNode root = new ObjectMapper().readTree(r.json());
        JsonNode lines = root.get("lines");
        assertEquals(r.lines().size(), lines.size());
        assertEquals("input.params", lines.get(0).get("key").asText());
        assertEquals(124_439_808L, lines.get(0).get("value").asLong());
        assertTrue(lines.get(0).get("value").isIntegralNumber());
        for (int i = 0; i < lines.size(); i++) {
            PlanReport.Line l = r.lines().get(i);
            assertEquals(l.formula(), lines.get(i).get("formula").asText(), l.key());
            assertEquals(l.note(), lines.get(i).get("note").asText(), l.key());
        }
        // NaN values become null
        JsonNode none = new ObjectMapper().readTree(Planner.plan(oneB().build()).json()).get("lines");
        boolean sawNull = false;
        for (JsonNode l : none) {
            if (l.get("key").asText().equals("data.textBytes")) {
                assertTrue(l.get("value").isNull(), l.toString());
                sawNull = true;
            }
        }
        assertTrue(sawNull);
    }

    @Test
    void planIsPure() {
        PlanInput in = gpt2Small().devices(3).recompute(true).build();
        assertEquals(Planner.plan(in), Planner.plan(in));
    }
}
