package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelSpec;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** LoRA in the planner: adapter parameters, model states and FLOPs per token against full fine-tuning. */
class PlanLoraTest {
    private static final double P7B = 6_738_415_616.0;

    private static PlanReport plan(String... extra) {
        String[] base = {"--family", "llama", "--layers", "32", "--hidden", "4096", "--heads", "32", "--vocab",
                "32000", "--seq", "2048", "--tokens", "100M", "--hardware", "RTX 4090"};
        String[] args = Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Planner.plan(PlanArgs.parse(args, () -> {
            throw new AssertionError("no this-cpu here");
        }).input());
    }

    @Test
    void llama7bRank8OnQAndV() {
        PlanReport r = plan("--lora-rank", "8");
        // P_a = L·r·((C + C) + (C + C)) = 32 × 8 × (8,192 + 8,192) = 4,194,304 (PEFT prints the same)
        assertEquals(4_194_304.0, r.value("lora.params"));
        assertEquals("P_a = L·r·Σ(in + out) = 32 × 8 × (8,192 + 8,192) = 4,194,304", r.get("lora.params").formula());
        // full fine-tuning: 16 × 6,738,415,616 = 107,814,649,856 B
        assertEquals(107_814_649_856.0, r.value("lora.fullStates"));
        // LoRA: 2 × 6,738,415,616 + 16 × 4,194,304 = 13,476,831,232 + 67,108,864 = 13,543,940,096 B
        assertEquals(13_543_940_096.0, r.value("lora.states"));
        assertTrue(r.get("lora.states").note().contains("fits in 24.0 GB"), r.get("lora.states").note());
        assertTrue(r.get("lora.fullStates").note().contains("exceeds 24.0 GB"));
        // FLOPs per token: 4 × 6,738,415,616 + 6 × 4,194,304 = 26,953,662,464 + 25,165,824 = 26,978,828,288
        // against full training's 6·P = 40,430,493,696
        assertEquals(26_978_828_288.0, r.value("lora.flopsPerToken"));
        assertEquals(6 * P7B, r.value("compute.perToken"));
        assertEquals(26_978_828_288.0 * 1e8, r.value("lora.flops"), 1e3);
        // total: states + the same activations and workspace as full training
        assertEquals(13_543_940_096.0 + r.value("activations.total") + r.value("memory.workspace"),
                r.value("lora.total"), 1);
    }

    @Test
    void allTargetsRecomputeAndTwentyBytes() {
        // r = 16 on q, k, v, o (C + C each: 4 × 8,192 = 32,768) and gate, up, down (C + H = 15,104 each: 45,312):
        // 16 × 78,080 = 1,249,280 per layer, × 32 = 39,976,960
        PlanReport r = plan("--lora-rank", "16", "--lora-targets", "all", "--recompute", "--bytes-per-param", "20");
        assertEquals(39_976_960.0, r.value("lora.params"));
        // 4 + 4 + 12: frozen 4·P, adapters 20·P_a
        assertEquals(4 * P7B + 20 * 39_976_960.0, r.value("lora.states"));
        // recomputation runs the forward twice: 6·P + 8·P_a
        assertEquals(6 * P7B + 8 * 39_976_960.0, r.value("lora.flopsPerToken"));
        assertTrue(r.get("lora.flopsPerToken").formula().startsWith("6·P + 8·P_a = 6 × 6,738,415,616 + 8 ×"));
        // named in any order, repeats once
        assertEquals(39_976_960.0, plan("--lora-rank", "16", "--lora-targets", "down,up,gate,o,v,k,q,q")
                .value("lora.params"));
    }

    @Test
    void groupedQueryKeysAreNarrow() {
        // LLaMA-2-70B, k and v project C = 8,192 to 8 × 128 = 1,024: r·(8,192 + 1,024) each
        PlanInput in = PlanArgs.parse(new String[]{"--family", "llama", "--layers", "80", "--hidden", "8192",
                "--heads", "64", "--kv-heads", "8", "--mlp-hidden", "28672", "--vocab", "32000", "--seq", "4096",
                "--lora-rank", "8", "--lora-targets", "q,k,v"}).input();
        assertEquals(80.0 * 8 * (16_384 + 9_216 + 9_216), in.lora().adapterParams(in.arch().config()));
    }

    @Test
    void targetsCoverTheBlocksMatricesOfModelSpec() {
        // Σ in·out over every target = one block's linear weights as the trainer's parameter list has them
        GptConfig base = GptConfig.gpt2(96, 64, 3, 48, 4);
        for (GptConfig c : List.of(base, base.withKvHeads(2), base.withKvHeads(1), base.withMlp(GptConfig.Mlp.SWIGLU),
                GptConfig.llama(96, 64, 3, 48, 4, 2).withMlpHidden(100))) {
            long sum = 0;
            for (Lora.Target t : Lora.of(1, "all", c).targets()) {
                sum += (long) t.in(c) * t.out(c);
            }
            assertEquals(ModelSpec.of(c).blockMatmulParameters(), sum, c.toString());
        }
    }

    @Test
    void withoutLoraNoSectionAndErrors() {
        assertFalse(plan().find("lora.params").isPresent());
        String gate = assertThrows(IllegalArgumentException.class, () -> Planner.plan(PlanArgs.parse(new String[]{
                "--layers", "2", "--hidden", "64", "--heads", "4", "--vocab", "100", "--seq", "32", "--lora-rank", "4",
                "--lora-targets", "q,gate"}).input())).getMessage();
        assertTrue(gate.contains("GELU MLP has no gate"), gate);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PlanArgs.parse(new String[]{"--params", "7B",
                "--lora-rank", "8"})).getMessage().contains("give the architecture"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> plan("--lora-targets", "q"))
                .getMessage().contains("give --lora-rank"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> plan("--lora-rank", "8", "--lora-targets",
                "q,x")).getMessage().contains("unknown matrix 'x'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> plan("--lora-rank", "0"))
                .getMessage().contains("--lora-rank must be >= 1"));
    }
}
