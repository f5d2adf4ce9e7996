package dev.sixpd.nn;

import dev.sixpd.nn.GptConfig.Block;
import dev.sixpd.nn.GptConfig.Family;
import dev.sixpd.nn.GptConfig.Mlp;
import dev.sixpd.nn.GptConfig.Norm;
import dev.sixpd.nn.GptConfig.Pos;
import dev.sixpd.nn.ledger.Analytic;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Attention;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every architecture switch, alone and combined as LLaMA: the forward pass against the independent double reference
 * ({@link GptReference}), the backward pass against its finite differences, the ledger's matmul FLOPs against
 * {@link ModelSpec}'s N exactly, recomputation bit-identical, and P against its formula.
 */
class ArchitectureSwitchesTest {
    /** A small GPT-2: V 29, context 12, 2 layers, C 32, 4 heads of 8 (even, for RoPE). */
    private static final GptConfig BASE = GptConfig.gpt2(29, 12, 2, 32, 4);

    static Stream<Arguments> configs() {
        return Stream.of(
                Arguments.of("gpt2", BASE),
                Arguments.of("rmsnorm", BASE.withNorm(Norm.RMSNORM)),
                Arguments.of("rope", BASE.withPos(Pos.ROPE)),
                Arguments.of("swiglu", BASE.withMlp(Mlp.SWIGLU)),
                Arguments.of("swiglu hidden 40", BASE.withMlp(Mlp.SWIGLU).withMlpHidden(40)),
                Arguments.of("gqa 2 kv heads", BASE.withKvHeads(2)),
                Arguments.of("mqa 1 kv head", BASE.withKvHeads(1)),
                Arguments.of("parallel block", BASE.withBlock(Block.PARALLEL)),
                Arguments.of("no bias", BASE.withBias(false)),
                Arguments.of("untied head", BASE.withTieHead(false)),
                Arguments.of("llama", GptConfig.llama(29, 12, 2, 32, 4, 2)),
                Arguments.of("llama names, GPT-2 parts, parallel",
                        new GptConfig(Family.LLAMA, 29, 12, 2, 32, 4, 4, 0, Norm.LAYERNORM, Pos.LEARNED, Mlp.GELU,
                                Block.PARALLEL, true, true, GptConfig.Attn.NAIVE)),
                Arguments.of("flash attention", BASE.withAttention(GptConfig.Attn.FLASH)),
                Arguments.of("llama, flash attention", GptConfig.llama(29, 12, 2, 32, 4, 2)
                        .withAttention(GptConfig.Attn.FLASH)));
    }


    /** Parameters moved away from the init (gains from 1, biases from 0) so every path carries a gradient. */
    private static Gpt scrambled(GptConfig cfg, int maxB, long seed, boolean recompute) {
        Gpt m = new Gpt(cfg, maxB, seed, recompute);
        Rng rng = new Rng(seed + 1);
        for (Param p : m.params()) {
            for (int i = 0; i < p.data.length; i++) {
                p.data[i] += (float) ((p.shape().length == 1 ? 0.2 : 0.08) * rng.nextGaussian());
            }
            p.syncWorking();
        }
        return m;
    }

    private static Map<String, double[]> asDouble(Gpt m) {
        Map<String, double[]> p = new HashMap<>();
        for (Param q : m.params()) {
            double[] d = new double[q.data.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = q.data[i];
            }
            p.put(q.name, d);
        }
        return p;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void forwardMatchesTheDoubleReference(String name, GptConfig cfg) {
        Gpt m = scrambled(cfg, 3, 5, false);
        Rng rng = new Rng(11);
        int B = 3;
        int T = 10;
        int[] x = GptTest.randomTokens(rng, B * T, cfg.vocab());
        int[] y = GptTest.randomTokens(rng, B * T, cfg.vocab());
        double got = m.forward(x, y, B, T);
        double want = GptReference.loss(cfg, asDouble(m), x, y, B, T);
        // FP32 forward of a few hundred ops per value: about 1e-6 relative
        assertEquals(want, got, 1e-5 * want, name);
    }

    /**
     * The float backward against central differences (h = 1e-4) of the double reference, at 4 random entries of
     * every tensor; tolerance |analytic − numeric| ≤ 2e-3·|numeric| + 2e-3·(largest |numeric| of the tensor) + 1e-7,
     * as in {@code GptTest}.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void gradientCheckAgainstFiniteDifferences(String name, GptConfig cfg) {
        Gpt m = scrambled(cfg, 2, 7, false);
        Rng rng = new Rng(13);
        int B = 2;
        int T = 9;
        int[] x = GptTest.randomTokens(rng, B * T, cfg.vocab());
        int[] y = GptTest.randomTokens(rng, B * T, cfg.vocab());
        m.forward(x, y, B, T);
        m.backward(1f);
        Map<String, double[]> ref = asDouble(m);
        double h = 1e-4;
        for (Param p : m.params()) {
            double[] w = ref.get(p.name);
            int limit = p.name.endsWith("positions.weight") || p.name.equals("wpe.weight") ? T * cfg.dModel()
                    : w.length;
            int[] idx = new int[4];
            for (int k = 0; k < idx.length; k++) {
                idx[k] = rng.nextInt(limit);
            }
            double[] num = new double[idx.length];
            double scale = 0;
            for (int k = 0; k < idx.length; k++) {
                int i = idx[k];
                double keep = w[i];
                w[i] = keep + h;
                double lp = GptReference.loss(cfg, ref, x, y, B, T);
                w[i] = keep - h;
                double lm = GptReference.loss(cfg, ref, x, y, B, T);
                w[i] = keep;
                num[k] = (lp - lm) / (2 * h);
                scale = Math.max(scale, Math.abs(num[k]));
            }
            for (int k = 0; k < idx.length; k++) {
                double a = p.grad[idx[k]];
                double tol = 2e-3 * Math.abs(num[k]) + 2e-3 * scale + 1e-7;
                assertTrue(Math.abs(a - num[k]) <= tol, name + ": " + p.name + "[" + idx[k] + "]: analytic " + a
                        + " numeric " + num[k]);
            }
        }
    }

    /** Forward matmul FLOPs = 2·N·B·T, backward 4·N·B·T, N from the spec; attention as its kernel counts it. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void ledgerMatmulFlopsEqualTheSpecsFormulas(String name, GptConfig cfg) {
        Gpt m = new Gpt(cfg, 2, 1);
        Rng rng = new Rng(2);
        int B = 2;
        int T = 11;
        int[] x = GptTest.randomTokens(rng, B * T, cfg.vocab());
        int[] y = GptTest.randomTokens(rng, B * T, cfg.vocab());
        Ledger.setEnabled(true);
        Ledger.Snapshot before = Ledger.snapshot();
        m.forward(x, y, B, T);
        m.backward(1f);
        Ledger.Snapshot d = Ledger.snapshot().minus(before);
        Analytic an = new Analytic(cfg, B, T);
        assertEquals(an.forwardMatmulFlopsPerPass(), d.flops(Ledger.Phase.FORWARD, Ledger.Kind.MATMUL), name);
        assertEquals(an.backwardMatmulFlopsPerPass(), d.flops(Ledger.Phase.BACKWARD, Ledger.Kind.MATMUL), name);
        assertEquals(an.forwardAttentionFlopsPerPass(), d.flops(Ledger.Phase.FORWARD, Ledger.Kind.ATTENTION_MATMUL));
        assertEquals(an.backwardAttentionFlopsPerPass(),
                d.flops(Ledger.Phase.BACKWARD, Ledger.Kind.ATTENTION_MATMUL));
        // N by hand from the config, independently of the spec
        long C = cfg.dModel(), H = cfg.mlpHidden(), kv = (long) cfg.kvHeads() * cfg.headSize();
        long perBlock = C * C + 2 * C * kv + C * C + (cfg.mlp() == Mlp.SWIGLU ? 3 : 2) * C * H;
        assertEquals(cfg.layers() * perBlock + (long) cfg.vocab() * C, an.matmulParameters(), name);
        assertEquals(2L * m.spec().matmulParameters() * B * T, an.forwardMatmulFlopsPerPass());
        assertEquals(Attention.matmulFlopsForward(B, T, cfg.dModel(), cfg.heads()) * cfg.layers(),
                an.forwardAttentionFlopsPerPass(), "GQA shares K/V, not attention FLOPs");
        // the KV cache per position: K and V of each layer's K/V heads, 4 bytes each (C = 32, 4 heads of 8)
        assertEquals(2L * cfg.layers() * cfg.kvHeads() * 8 * 4, an.kvCacheBytesPerToken(), name);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void recomputationGivesTheSameBits(String name, GptConfig cfg) {
        Gpt plain = scrambled(cfg, 2, 8, false);
        Gpt re = scrambled(cfg, 2, 8, true);
        Rng rng = new Rng(3);
        int[] x = GptTest.randomTokens(rng, 2 * 12, cfg.vocab());
        int[] y = GptTest.randomTokens(rng, 2 * 12, cfg.vocab());
        assertEquals(plain.forward(x, y, 2, 12), re.forward(x, y, 2, 12));
        plain.backward(1f);
        re.backward(1f);
        for (int i = 0; i < plain.params().size(); i++) {
            assertArrayEquals(plain.params().get(i).grad, re.params().get(i).grad, plain.params().get(i).name);
        }
        assertTrue(re.layout().savedForBackwardBytes() < plain.layout().savedForBackwardBytes());
    }

    /** Flash attention gives the naive kernel's loss and gradients up to rounding, and keeps no T² buffer. */
    @Test
    void flashAttentionAgreesWithNaiveAndDropsTheT2Terms() {
        for (GptConfig naive : List.of(BASE, GptConfig.llama(29, 12, 2, 32, 4, 2))) {
            GptConfig flash = naive.withAttention(GptConfig.Attn.FLASH);
            Gpt a = scrambled(naive, 2, 9, false);
            Gpt f = scrambled(flash, 2, 9, false);
            Rng rng = new Rng(4);
            int[] x = GptTest.randomTokens(rng, 2 * 12, 29);
            int[] y = GptTest.randomTokens(rng, 2 * 12, 29);
            double la = a.forward(x, y, 2, 12);
            double lf = f.forward(x, y, 2, 12);
            assertEquals(la, lf, 1e-6 * la);
            a.backward(1f);
            f.backward(1f);
            for (int i = 0; i < a.params().size(); i++) {
                float[] ga = a.params().get(i).grad;
                float[] gf = f.params().get(i).grad;
                double max = 0;
                for (float v : ga) {
                    max = Math.max(max, Math.abs(v));
                }
                for (int j = 0; j < ga.length; j++) {
                    assertEquals(ga[j], gf[j], 1e-4 * max + 1e-7, a.params().get(i).name + "[" + j + "]");
                }
            }
            // the saved probabilities [B, NH, T, T] and their gradient scratch are gone; one lse per row instead
            long t2 = 4L * 2 * naive.heads() * 12 * 12;
            long lse = 4L * 2 * naive.heads() * 12;
            assertEquals(a.layout().perLayerBytes() - t2 + lse, f.layout().perLayerBytes());
            assertEquals(a.layout().workspaceBytes() - t2, f.layout().workspaceBytes());
            assertNull(a.layout().perLayer().get("att log-sum-exp"));
            assertNull(f.layout().perLayer().get("att (probabilities)"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void parameterCountEqualsItsFormulaAndTheModel(String name, GptConfig cfg) {
        ModelSpec spec = ModelSpec.of(cfg);
        Map<String, Long> sym = spec.symbols();
        long P = 0;
        for (ParamSpec p : spec.params()) {
            assertEquals(p.elements(), p.size().eval(sym), p.name() + " size formula " + p.size());
            P += p.elements();
        }
        assertEquals(P, spec.parameters());
        assertEquals(P, new Gpt(cfg, 1).parameterCount());
        assertEquals(P, cfg.parameterCount());
        assertTrue(spec.parametersFormula().contains("L·("), spec.parametersFormula());
        assertTrue(spec.matmulParameters() < P, "biases, gains and the embedding lookup are not matmuls");
    }

    @Test
    void gpt2FormulasReadAsTheTextbooks() {
        ModelSpec s = ModelSpec.of(GptConfig.gpt2(96, 128, 4, 128, 4));
        assertEquals("V·C + T·C + L·(12C² + 13C) + 2C", s.parametersFormula());
        assertEquals("12C²", s.blockFormula());
        ModelSpec l = ModelSpec.of(GptConfig.llama(96, 128, 4, 128, 4, 2));
        // embedding and untied head V·C each; per block q and o C², k and v C·HS·KVH, SwiGLU's three C·H, two
        // RMSNorm gains; the final gain
        assertEquals("2V·C + L·(2C² + 3C·H + 2C·KVH·HS + 2C) + C", l.parametersFormula());
        assertEquals("V·C + L·(2C² + 3C·H + 2C·KVH·HS)", l.matmulParametersFormula());
        assertEquals(192, GptConfig.defaultMlpHidden(Mlp.SWIGLU, 64), "8·64/3 = 170.7, up to a multiple of 32");
        assertEquals(352, GptConfig.defaultMlpHidden(Mlp.SWIGLU, 128), "8·128/3 = 341.3, up to a multiple of 32");
        assertEquals(512, GptConfig.defaultMlpHidden(Mlp.GELU, 128));
    }

    @Test
    void llamaNamesAreHuggingFaces() {
        GptConfig cfg = GptConfig.llama(40, 16, 2, 32, 4, 2);
        Gpt m = new Gpt(cfg, 1, 1);
        assertNotNull(m.param("model.embed_tokens.weight"));
        assertArrayEquals(new int[]{32, 32}, m.param("model.layers.1.self_attn.q_proj.weight").shape());
        assertArrayEquals(new int[]{16, 32}, m.param("model.layers.1.self_attn.k_proj.weight").shape());
        assertArrayEquals(new int[]{16, 32}, m.param("model.layers.1.self_attn.v_proj.weight").shape());
        assertArrayEquals(new int[]{32, 32}, m.param("model.layers.0.self_attn.o_proj.weight").shape());
        assertArrayEquals(new int[]{96, 32}, m.param("model.layers.0.mlp.gate_proj.weight").shape());
        assertArrayEquals(new int[]{96, 32}, m.param("model.layers.0.mlp.up_proj.weight").shape());
        assertArrayEquals(new int[]{32, 96}, m.param("model.layers.0.mlp.down_proj.weight").shape());
        assertNotNull(m.param("model.layers.0.input_layernorm.weight"));
        assertNotNull(m.param("model.layers.0.post_attention_layernorm.weight"));
        assertNotNull(m.param("model.norm.weight"));
        assertArrayEquals(new int[]{40, 32}, m.param("lm_head.weight").shape());
        assertNull(m.param("model.norm.bias"));
        assertNull(m.param("model.layers.0.self_attn.q_proj.bias"));
        assertEquals(3 + 2 * 9, m.params().size(), "embedding, 9 per block, final norm, head");
        assertTrue(m.param("lm_head.weight").decay);
        assertTrue(!m.param("model.embed_tokens.weight").decay);
    }

    @Test
    void badSwitchesAreRefusedWithTheirReason() {
        assertThrows(IllegalArgumentException.class, () -> BASE.withKvHeads(3), "3 does not divide 4 heads");
        assertThrows(IllegalArgumentException.class, () -> BASE.withKvHeads(0));
        assertThrows(IllegalArgumentException.class, () -> GptConfig.gpt2(29, 12, 2, 30, 2).withPos(Pos.ROPE),
                "head size 15 is odd");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GptConfig.parse(Norm.class, "--norm", "batchnorm"));
        assertTrue(e.getMessage().contains("layernorm, rmsnorm"), e.getMessage());
        // old checkpoints' five-key config reads as GPT-2
        assertEquals(BASE, GptConfig.fromMap(Map.of("vocab", 29, "context", 12, "layers", 2, "d_model", 32,
                "heads", 4)));
        for (Arguments a : configs().toList()) {
            GptConfig c = (GptConfig) a.get()[1];
            assertEquals(c, GptConfig.fromMap(c.toMap()));
        }
        assertEquals(List.of("llama-tiny", "llama-small"), GptConfig.PRESETS.keySet().stream()
                .filter(k -> k.startsWith("llama")).toList());
    }
}
