package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PlanArgsTest {
    private static PlanArgs parse(String... args) {
        return PlanArgs.parse(args, () -> Hardware.thisCpu(1e11, 2));
    }

    @Test
    void parsesAFullCommandLine() {
        PlanArgs a = parse("--params", "7B", "--tokens=1.4T", "--hardware", "H100", "--devices", "64", "--mfu",
                "0.45", "--recompute", "--price", "$2.5", "--other-hw-pct", "25%", "--dc-pct", "0", "--staff",
                "100k", "--pue", "1.1", "--batch", "2", "--bytes-per-token", "4.2", "--json");
        PlanInput in = a.input();
        assertTrue(a.json());
        assertEquals(7e9, in.params());
        assertEquals(1.4e12, in.tokens());
        assertEquals("h100", in.hardware().name());
        assertEquals(64, in.devices());
        assertEquals(0.45, in.mfu());
        assertTrue(in.recompute());
        assertEquals(2.5, in.pricePerDeviceHour());
        assertEquals(25, in.otherHardwarePercent());
        assertEquals(0, in.datacenterPercent());
        assertEquals(1e5, in.staffCost());
        assertEquals(1.1, in.pue());
        assertEquals(2, in.microBatch());
        assertEquals(4.2, in.bytesPerToken());
    }

    @Test
    void defaultsAndArchitecture() {
        PlanArgs a = parse("--layers", "12", "--hidden", "768", "--heads", "12", "--vocab", "50257", "--seq", "1024",
                "--gpu", "a100", "--deadline", "2d");
        assertFalse(a.json());
        assertEquals(124_439_808, a.input().arch().params());
        assertEquals(PlanInput.DEFAULT_MFU, a.input().mfu());
        assertEquals(2 * 86400, a.input().deadlineSeconds());
        assertEquals(PlanInput.Precision.BF16, a.input().precision());
    }

    @Test
    void thisCpuUsesTheSupplier() {
        PlanArgs a = parse("--params", "1M", "--hardware", "this-cpu", "--precision", "fp32");
        assertEquals(1e11, a.input().hardware().fp32Flops());
        PlanReport r = Planner.plan(a.input());
        assertEquals(6 * 1e6 * 2e7 / (1e11 * 0.4), r.value("time.wall"), 1e-6);
    }

    @Test
    void clearErrors() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--params", "7B", "--hardware", "tpu"))
                .getMessage().contains("unknown hardware 'tpu'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--params", "7B", "--frobnicate", "1"))
                .getMessage().contains("unknown option '--frobnicate'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--params"))
                .getMessage().contains("--params needs a value"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> parse("--layers", "2", "--hidden", "64", "--gpu", "a100"))
                .getMessage().contains("missing: --heads, --vocab, --seq"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> parse("--layers", "2", "--hidden", "65", "--heads", "4", "--vocab", "65", "--seq", "8",
                        "--gpu", "a100"))
                .getMessage().contains("heads (4) must divide hidden (65)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--params", "-7B", "--gpu", "a100"))
                .getMessage().contains("negative"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> parse("--params", "7B", "--gpu", "a100", "--mfu", "1.2"))
                .getMessage().contains("mfu must be in (0, 1]"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> parse("--params", "7B", "--gpu", "a100", "--precision", "fp8"))
                .getMessage().contains("bf16"));
    }

    @Test
    void parsesTheTextbookOptions() {
        PlanInput in = parse("--params", "7B", "--memory", "24GB", "--bytes-per-param", "18", "--tp", "2", "--pp",
                "4", "--dp", "8", "--micro-batches", "16", "--sequence-parallel", "--device-price", "$15k",
                "--kwh-price", "0.12", "--workspace", "1GiB", "--infer-batch", "4", "--context", "8k",
                "--infer-dtype", "int8").input();
        assertEquals(24e9, in.memoryBytes());
        assertEquals(18, in.stateLayout().total());
        assertEquals(2, in.tensorParallel());
        assertEquals(4, in.pipelineStages());
        assertEquals(8, in.dataParallel());
        assertEquals(16, in.microBatches());
        assertTrue(in.sequenceParallel());
        assertEquals(15000, in.devicePrice());
        assertEquals(0.12, in.kwhPrice());
        assertEquals(1L << 30, in.workspaceBytes());
        assertEquals(4, in.inferBatch());
        assertEquals(8000, in.context());
        assertEquals(PlanInput.InferDtype.INT8, in.inferDtype());
        assertEquals(64, Planner.plan(in).value("parallel.devices"));

        PlanInput data = parse("--params", "1B", "--data-chars", "2B", "--script", "cjk", "--epochs", "2",
                "--bytes-per-token", "3").input();
        assertEquals(3, data.bytesPerChar());
        // 2e9 characters × 3 B / 3 B per token × 2 epochs = 4e9 tokens
        assertEquals(4e9, Planner.plan(data).value("input.tokens"));
        PlanInput run = parse("--params", "175B", "--tokens", "180B", "--hardware", "A100 80GB", "--devices", "992",
                "--duration", "60d").input();
        assertEquals(60 * 86400, run.durationSeconds());
        assertEquals(3.14e23, parse("--flops", "3.14e23").input().flops());
        assertEquals("a100-pcie", parse("--params", "1B", "--hardware", "A100 80GB PCIe").input().hardware().name());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--params", "1B", "--devices", "0"))
                .getMessage().contains("--devices must be >= 1"));
    }

    @Test
    void jsonForEveryResult() throws Exception {
        String out = PlanArgs.run(new String[] {"--params", "7B", "--memory", "24GB", "--devices", "8", "--json"});
        com.fasterxml.jackson.databind.JsonNode lines = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out)
                .get("lines");
        boolean seen = false;
        for (com.fasterxml.jackson.databind.JsonNode l : lines) {
            if (l.get("key").asText().equals("memory.zero2")) {
                // 2 × 7e9 + 14 × 7e9 / 8 = 26,250,000,000 B, as an integer
                assertEquals(26_250_000_000L, l.get("value").asLong());
                assertTrue(l.get("value").isIntegralNumber());
                assertEquals("26.25 GB = 24.4 GiB", l.get("display").asText());
                seen = true;
            }
        }
        assertTrue(seen, out);
    }
}
