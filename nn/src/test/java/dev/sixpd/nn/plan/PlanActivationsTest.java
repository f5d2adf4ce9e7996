package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.nn.GptConfig;
import org.junit.jupiter.api.Test;

/** Korthikanti's activation formula generalized to the architecture switches, and the KV cache per token. */
class PlanActivationsTest {
    private static PlanInput.Arch arch(String... args) {
        return PlanArgs.parse(args, () -> {
            throw new AssertionError("no this-cpu here");
        }).input().arch();
    }

    /** Korthikanti et al. 2022 as the planner printed it before the switches (eq. 1, 2 and 4). */
    private static double oldFormula(double s, double b, double h, double a, int t, boolean sp) {
        double sbh = s * b * h;
        double attn = 5.0 * a * s / h;
        return sp || t == 1 ? sbh * (34 + attn) / t : sbh * (10 + 24.0 / t + attn / t);
    }

    @Test
    void gpt2ShapesAreExactly34sbhPlus5as2b() {
        int[][] shapes = {{12, 768, 12, 50257, 1024}, {32, 4096, 32, 32000, 2048}, {96, 12288, 96, 50272, 2048},
                {3, 65, 5, 97, 17}};
        for (int[] sh : shapes) {
            PlanInput.Arch a = new PlanInput.Arch(sh[0], sh[1], sh[2], sh[3], sh[4]);
            for (int b : new int[]{1, 3}) {
                double s = sh[4];
                double h = sh[1];
                assertEquals(34 * s * b * h + 5 * sh[2] * s * s * b, a.activationBytesPerLayer(b, 1, false), 0.0);
                for (int t : new int[]{2, 8}) {
                    if (sh[2] % t != 0) {
                        continue;
                    }
                    double old = oldFormula(s, b, h, sh[2], t, false);
                    assertEquals(old, a.activationBytesPerLayer(b, t, false), old * 1e-15);
                    double oldSp = oldFormula(s, b, h, sh[2], t, true);
                    assertEquals(oldSp, a.activationBytesPerLayer(b, t, true), oldSp * 1e-15);
                }
            }
            assertTrue(a.korthikantiShape());
        }
    }

    @Test
    void gpt2OutputTextIsKorthikantisAsBefore() {
        PlanReport r = Planner.plan(PlanInput.builder().params(7e9).arch(32, 4096, 32, 32000, 2048).build());
        assertEquals("s·b·h·(34 + 5·a·s/h) = 2,048 × 1 × 4,096 × (34 + 5 × 32 × 2,048 / 4,096) = 9.56e8 B",
                r.get("activations.perLayer").formula());
        assertEquals("Korthikanti et al. 2022 eq. 1 for 16-bit activations; b = micro-batch",
                r.get("activations.perLayer").note());
        PlanReport tp = Planner.plan(PlanInput.builder().params(175e9).arch(96, 12288, 96, 50272, 2048)
                .tensorParallel(8).build());
        assertTrue(tp.get("activations.perLayer").formula().startsWith("s·b·h·(10 + 24/t + 5·a·s/(h·t)) = 2,048 × 1"
                + " × 12,288 × (10 + 24 / 8 + 5 × 96 × 2,048 / (12,288 × 8))"), tp.get("activations.perLayer")
                .formula());
        assertEquals("2·L·h·T·b × bytes = 2 × 32 × 4,096 × 2,048 × 1 × 2 = 1.07e9 B",
                r.get("inference.kvCache").formula());
    }

    @Test
    void llama7bPerLayer() {
        // norms 4 + attention 11 + SwiGLU 3 + 6·11,008/4,096 = 19.125: 34.125·s·b·h + 5·a·s²·b
        // s·b·h = 2,048 × 4,096 = 8,388,608; × 34.125 = 286,261,248; 5 × 32 × 2,048² = 671,088,640
        PlanInput.Arch a = arch(PlanArchTest.LLAMA_7B);
        assertEquals(286_261_248.0 + 671_088_640.0, a.activationBytesPerLayer(1, 1, false), 0.0);
        PlanReport r = Planner.plan(PlanInput.builder().arch(a).tokens(1e12).build());
        assertEquals("s·b·h·(34.125 + 5·a·s/h) = 2,048 × 1 × 4,096 × (34.125 + 5 × 32 × 2,048 / 4,096) = 9.57e8 B",
                r.get("activations.perLayer").formula());
        assertTrue(r.get("activations.perLayer").note().contains("generalized: 34.125 = 4 (two norm inputs) + 11"
                + " (attention 7 + 4g, g = 32/32) + 19.125 (SwiGLU MLP 3 + 6H/h, H = 11,008)"),
                r.get("activations.perLayer").note());
        // KV cache: 2·L·h × 2 bytes = 2 × 32 × 4,096 × 2 = 524,288 B per token
        assertEquals(524_288.0, r.value("inference.kvPerToken"));
        assertEquals(524_288.0 * 2048, r.value("inference.kvCache"));
    }

    @Test
    void groupedQueryAttention70b() {
        // g = 8/64: attention 7 + 0.5; SwiGLU 3 + 6·28,672/8,192 = 24; norms 4: 35.5·s·b·h + 5·a·s²·b
        // s·b·h = 4,096 × 8,192 = 33,554,432, × 35.5 = 1,191,182,336; 5 × 64 × 4,096² = 5,368,709,120
        PlanInput.Arch a = arch("--family", "llama", "--layers", "80", "--hidden", "8192", "--heads", "64",
                "--kv-heads", "8", "--mlp-hidden", "28672", "--vocab", "32000", "--seq", "4096");
        assertEquals(1_191_182_336.0 + 5_368_709_120.0, a.activationBytesPerLayer(1, 1, false), 0.0);
        // tensor parallel t = 8: R = 10 whole, S = 4 + 0.5 + 21 = 25.5 and the scores split
        assertEquals(33_554_432.0 * (10 + 25.5 / 8) + 5_368_709_120.0 / 8, a.activationBytesPerLayer(1, 8, false),
                1e-6);
        // KV cache: 2·L·kv·d × 2 = 2 × 80 × 8 × 128 × 2 = 327,680 B per token, 8× less than 64 heads would take
        PlanReport r = Planner.plan(PlanInput.builder().arch(a).tokens(2e12).build());
        assertEquals(327_680.0, r.value("inference.kvPerToken"));
        assertEquals("2·L·kv·d × bytes = 2 × 80 × 8 × 128 × 2 = 3.28e5 B", r.get("inference.kvPerToken").formula());
        assertTrue(r.get("inference.kvPerToken").note().contains("8× smaller"));
        assertTrue(r.get("activations.perLayer").note().contains("(attention 7 + 4g, g = 8/64)"));
    }

    @Test
    void parallelBlockAndFlashAttention() {
        String[] base = {"--layers", "12", "--hidden", "768", "--heads", "12", "--vocab", "50257", "--seq", "1024"};
        double s = 1024;
        double sbh = s * 768;
        // parallel: one norm input and one shared matmul input fewer: 30·s·b·h + 5·a·s²·b
        PlanInput.Arch par = arch(concat(base, "--block", "parallel"));
        assertEquals(30 * sbh + 5 * 12 * s * s, par.activationBytesPerLayer(1, 1, false), 0.0);
        assertEquals(6, par.replicatedActivations());
        // flash: the s² term becomes the FP32 log-sum-exp, 4·a·s·b
        PlanInput.Arch flash = arch(concat(base, "--attention", "flash"));
        assertEquals(34 * sbh + 4 * 12 * s, flash.activationBytesPerLayer(1, 1, false), 0.0);
        assertEquals(GptConfig.Attn.FLASH, flash.config().attention());
        // 786,432 × 34 = 26,738,688, + 4 × 12 × 1,024 = 49,152: 26,787,840
        PlanReport r = Planner.plan(PlanInput.builder().arch(flash).tokens(1e10).build());
        assertEquals("s·b·h·34 + 4·a·s·b = 1,024 × 1 × 768 × 34 + 4 × 12 × 1,024 × 1 = 2.68e7 B",
                r.get("activations.perLayer").formula());
        // and its backward recomputes QKᵀ: 14·L·s·h per token instead of 12
        PlanReport naive = Planner.plan(PlanInput.builder().arch(new PlanInput.Arch(12, 768, 12, 50257, 1024))
                .tokens(1e10).build());
        assertEquals(naive.value("compute.attention") * 14 / 12, r.value("compute.attention"),
                r.value("compute.attention") * 1e-12);
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
