package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelSpec;
import org.junit.jupiter.api.Test;

/** The planner's architecture switches: P from ModelSpec for GPT-2 and LLaMA shapes, and the option parsing. */
class PlanArchTest {
    private static PlanInput.Arch arch(String... args) {
        return PlanArgs.parse(args, () -> {
            throw new AssertionError("no this-cpu here");
        }).input().arch();
    }

    static final String[] LLAMA_7B = {"--family", "llama", "--layers", "32", "--hidden", "4096", "--heads", "32",
            "--vocab", "32000", "--seq", "2048"};

    @Test
    void llama7bHas6738415616Parameters() {
        // 2·V·C (untied) = 262,144,000; per layer 4C² + 3C·H + 2C = 67,108,864 + 135,266,304 + 8,192
        // = 202,383,360, × 32 = 6,476,267,520; final RMSNorm 4,096: 6,738,415,616
        PlanInput.Arch a = arch(LLAMA_7B);
        assertEquals(11008, a.mlpHidden(), "LLaMA's own width: 8h/3 rounded up to 256");
        assertEquals(6_738_415_616L, (long) a.params());
        // the same from every switch spelled out on a GPT-2 base
        PlanInput.Arch spelled = arch("--layers", "32", "--hidden", "4096", "--heads", "32", "--vocab", "32000",
                "--seq", "2048", "--mlp", "swiglu", "--mlp-hidden", "11008", "--norm", "rmsnorm", "--pos", "rope",
                "--no-bias", "--no-tie-head");
        assertEquals(6_738_415_616L, (long) spelled.params());
        PlanReport r = Planner.plan(PlanInput.builder().arch(a).tokens(1e12).build());
        assertEquals(6_738_415_616.0, r.value("input.params"));
        assertEquals("P = 2V·C + L·(4C² + 3C·H + 2C) + C at V = 32,000, L = 32, C = 4,096, H = 11,008"
                + " = 6,738,415,616", r.get("input.params").formula());
        assertTrue(r.get("input.params").note().contains("RMSNorm, RoPE, SwiGLU MLP (H = 11,008), 32 heads"),
                r.get("input.params").note());
    }

    @Test
    void llama2_70bHas68976648192Parameters() {
        // 2·V·C = 524,288,000; per layer q, o 2C² = 134,217,728, k, v 2·C·1,024 = 16,777,216, MLP 3·C·28,672
        // = 704,643,072, norms 16,384: 855,654,400 × 80 = 68,452,352,000; + final norm 8,192
        PlanInput.Arch a = arch("--family", "llama", "--layers", "80", "--hidden", "8192", "--heads", "64",
                "--kv-heads", "8", "--mlp-hidden", "28672", "--vocab", "32000", "--seq", "4096");
        assertEquals(68_976_648_192L, (long) a.params());
        assertEquals(8, a.kvHeads());
    }

    @Test
    void gpt2DefaultsAreUnchanged() {
        PlanInput.Arch a = arch("--layers", "12", "--hidden", "768", "--heads", "12", "--vocab", "50257", "--seq",
                "1024");
        assertEquals(GptConfig.gpt2(50257, 1024, 12, 768, 12), a.config());
        assertEquals(124_439_808L, (long) a.params());
        assertEquals(new PlanInput.Arch(12, 768, 12, 50257, 1024), a);
        // the old closed form, V·h + s·h + L·(12h² + 13h) + 2h, as a check on ModelSpec
        double h = 768;
        assertEquals(50257 * h + 1024 * h + 12 * (12 * h * h + 13 * h) + 2 * h, a.params());
        assertEquals(12 * (12 * h * h + 13 * h) + 2 * h, a.nonEmbeddingParams());
        assertEquals("L·(12C² + 13C) + 2C", a.nonEmbeddingFormula());
        assertEquals(12 * 12 * h * h, a.blockWeights());
        // --family gpt2 is the default spelled out
        assertEquals(a, arch("--family", "gpt2", "--layers", "12", "--hidden", "768", "--heads", "12", "--vocab",
                "50257", "--seq", "1024"));
    }

    @Test
    void everyModelSpecCountIsTheTrainersAtAnyLayerCount() {
        // the planner sums one block L times; ModelSpec at the full depth must agree for each switch
        GptConfig base = GptConfig.gpt2(96, 64, 3, 48, 4);
        GptConfig[] cs = {base, base.withKvHeads(2), base.withMlp(GptConfig.Mlp.SWIGLU),
                base.withNorm(GptConfig.Norm.RMSNORM), base.withPos(GptConfig.Pos.ROPE),
                base.withBlock(GptConfig.Block.PARALLEL), base.withBias(false), base.withTieHead(false),
                GptConfig.llama(96, 64, 3, 48, 4, 1)};
        for (GptConfig c : cs) {
            assertEquals((double) ModelSpec.of(c).parameters(), new PlanInput.Arch(c).params(), c.toString());
        }
    }

    @Test
    void switchesAndTheirErrors() {
        PlanInput.Arch par = arch("--layers", "2", "--hidden", "64", "--heads", "4", "--vocab", "100", "--seq", "32",
                "--block", "parallel", "--family", "llama", "--bias", "--tie-head", "--mlp", "gelu");
        assertEquals(GptConfig.Block.PARALLEL, par.config().block());
        assertTrue(par.config().bias() && par.config().tieHead());
        assertEquals(256, par.mlpHidden(), "gelu: 4h");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> arch("--norm", "rmsnorm", "--params", "7B"))
                .getMessage().contains("--norm describe the architecture: an architecture needs all of"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> arch("--mlp", "relu"))
                .getMessage().contains("--mlp must be one of gelu, swiglu, got 'relu'"));
        String kv = assertThrows(IllegalArgumentException.class, () -> arch("--layers", "2", "--hidden", "64",
                "--heads", "4", "--vocab", "100", "--seq", "32", "--kv-heads", "3")).getMessage();
        assertTrue(kv.contains("kv-heads (3) must divide heads (4)"), kv);
        String rope = assertThrows(IllegalArgumentException.class, () -> arch("--layers", "2", "--hidden", "36",
                "--heads", "12", "--vocab", "100", "--seq", "32", "--pos", "rope")).getMessage();
        assertTrue(rope.contains("--hidden") && !rope.contains("d-model"), rope);
        assertFalse(arch("--params", "7B") != null, "no architecture options: no architecture");
    }

    @Test
    void llamaWidthRule() {
        assertEquals(11008, PlanInput.Arch.llamaMlpHidden(4096));
        assertEquals(13824, PlanInput.Arch.llamaMlpHidden(5120));
        assertEquals(17920, PlanInput.Arch.llamaMlpHidden(6656));
        assertEquals(22016, PlanInput.Arch.llamaMlpHidden(8192));
    }

    @Test
    void modelsNoJvmCouldHoldArePlannedButNotBuilt() {
        // a 256K vocabulary at h = 16,384 is a 4.2e9-element embedding: more than a Java array, fine for the plan
        PlanInput.Arch a = arch("--family", "llama", "--layers", "2", "--hidden", "16384", "--heads", "128",
                "--vocab", "256000", "--seq", "1000000");
        long c = 16384;
        long h = 43776; // ⌊8 × 16,384 / 3⌋ = 43,690, up to a multiple of 256
        assertEquals(h, a.mlpHidden());
        assertEquals(2 * 256000 * c + 2 * (4 * c * c + 3 * c * h + 2 * c) + c, (long) a.params());
        String e = assertThrows(IllegalArgumentException.class, () -> new dev.sixpd.nn.Gpt(a.config(), 1))
                .getMessage();
        assertTrue(e.contains("exceed a Java array"), e);
    }
}
