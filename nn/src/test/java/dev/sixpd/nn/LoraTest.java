package dev.sixpd.nn;

import dev.sixpd.nn.ledger.Analytic;
import dev.sixpd.nn.layers.LoraAdapter;
import dev.sixpd.optim.Grads;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Ledger.Kind;
import dev.sixpd.tensor.Ledger.Phase;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA adapters on the whole model: step 0 reproduces the base model's logits exactly (B = 0), A and B get the
 * gradient finite differences measure through the whole model (with and without dropout), and the ledger's matmul
 * FLOPs are 2·(N + Na) forward and 2·N + 4·Na backward, Na = Σ r·(in + out) over the adapted layers.
 */
class LoraTest {
    private static final int B = 2;
    private static final int T = 11;
    private static final GptConfig GPT2 = GptConfig.gpt2(23, 13, 2, 24, 2);
    private static final GptConfig LLAMA = GptConfig.llama(23, 13, 2, 24, 4, 2);


    /** A LoRA model over {@code base}'s weights, adapters initialised (A Kaiming-uniform, B zero). */
    static Gpt adapted(Gpt base, Lora lora) {
        Gpt m = new Gpt(ModelSpec.of(base.config, lora), B, false);
        m.init(77);
        for (Param p : base.params()) {
            System.arraycopy(p.data, 0, m.param(p.name).data, 0, p.size());
            m.param(p.name).syncWorking();
        }
        return m;
    }

    @Test
    void stepZeroGivesTheBaseModelsLogitsExactly() {
        for (GptConfig c : List.of(GPT2, LLAMA)) {
            for (List<String> targets : List.of(List.<String>of(), List.of("all"))) {
                Gpt base = new Gpt(c, B, 5);
                Lora lora = Lora.of(c, 4, null, targets, 0.0);
                Gpt m = adapted(base, lora);
                int[] x = GptTest.randomTokens(new Rng(1), B * T, c.vocab());
                base.forward(x, null, B, T);
                m.forward(x, null, B, T);
                for (int i = 0; i < B * T * c.vocab(); i++) {
                    assertEquals(base.logits()[i], m.logits()[i], c + " " + lora.targets() + " logit " + i);
                }
                // A was drawn from U(−1/√in, 1/√in) and is not zero; B is zero
                for (ParamSpec s : m.spec().params()) {
                    float[] d = m.param(s.name()).data;
                    if (s.name().endsWith("lora_A.weight")) {
                        double bound = 1 / Math.sqrt(s.shape()[1]);
                        double max = 0;
                        for (float v : d) {
                            max = Math.max(max, Math.abs(v));
                        }
                        assertTrue(max > 0.5 * bound && max <= bound, s.name() + " max |A| " + max);
                    } else if (s.name().endsWith("lora_B.weight")) {
                        for (float v : d) {
                            assertEquals(0f, v, s.name());
                        }
                    }
                    assertEquals(s.role() == ParamSpec.Role.ADAPTER, s.trainable(), s.name());
                }
            }
        }
    }

    @Test
    void defaultTargetsAreQvForLlamaAndCAttnForGpt2() {
        ModelSpec g = ModelSpec.of(GPT2, Lora.of(GPT2, 2, null, null, 0));
        ModelSpec l = ModelSpec.of(LLAMA, Lora.of(LLAMA, 2, null, null, 0));
        assertTrue(g.param("h.1.attn.c_attn.lora_A.weight") != null && g.param("h.1.attn.c_proj.lora_A.weight") == null);
        assertTrue(l.param("model.layers.0.self_attn.q_proj.lora_B.weight") != null
                && l.param("model.layers.0.self_attn.v_proj.lora_A.weight") != null
                && l.param("model.layers.0.self_attn.k_proj.lora_A.weight") == null);
        assertEquals(List.of(12, 24), List.of(l.param("model.layers.0.self_attn.v_proj.lora_B.weight").shape()[0],
                l.param("model.layers.0.self_attn.v_proj.lora_A.weight").shape()[1]), "v: out = KVH·HS = 2 × 6, in = C");
    }

    @Test
    void unknownOrAbsentTargetsAreRefusedByName() {
        UserException e = assertThrows(UserException.class, () -> ModelSpec.of(GPT2, Lora.of(GPT2, 2, null,
                List.of("q"), 0)));
        assertTrue(e.getMessage().contains("use qkv"), e.getMessage());
        e = assertThrows(UserException.class, () -> Lora.of(GPT2, 2, null, List.of("attn"), 0));
        assertTrue(e.getMessage().contains("unknown LoRA target 'attn'"), e.getMessage());
        e = assertThrows(UserException.class, () -> ModelSpec.of(LLAMA, Lora.of(LLAMA, 2, null, List.of("qkv"), 0)));
        assertTrue(e.getMessage().contains("q,k,v,o,gate,up,down"), e.getMessage());
        assertThrows(UserException.class, () -> Lora.of(GPT2, 0, null, null, 0));
        assertThrows(UserException.class, () -> Lora.of(GPT2, 2, null, null, 1.0));
    }

    /** Central differences of the mean loss in each of A's and B's largest-gradient entries (FP32 forward). */
    @Test
    void gradientsOfAAndBMatchFiniteDifferencesThroughTheWholeModel() {
        for (GptConfig c : List.of(GPT2, LLAMA)) {
            for (double dropout : new double[]{0, 0.25}) {
                Gpt base = new Gpt(c, B, 5);
                Gpt m = adapted(base, Lora.of(c, 3, 6.0, List.of("all"), dropout));
                // B nonzero, so that A's gradient is too
                Rng rng = new Rng(3);
                for (Param p : m.params()) {
                    if (p.name.endsWith("lora_B.weight")) {
                        rng.fillNormal(p.data, 0, 0.2);
                    }
                }
                m.setDropoutSeed(dropout > 0 ? 1234 : LoraAdapter.NO_DROPOUT);
                int[] x = GptTest.randomTokens(new Rng(1), B * T, c.vocab());
                int[] y = GptTest.randomTokens(new Rng(2), B * T, c.vocab());
                Grads.zero(m.params());
                m.forward(x, y, B, T);
                m.backward(1f);
                int checked = 0;
                for (Param p : m.params()) {
                    if (!p.trainable) {
                        continue;
                    }
                    // the 3 largest gradient entries of each adapter tensor
                    for (int k = 0; k < 3; k++) {
                        int at = argmaxAbs(p.grad, k);
                        float w = p.data[at];
                        float h = 2e-3f;
                        p.data[at] = w + h;
                        double lp = m.forward(x, y, B, T);
                        p.data[at] = w - h;
                        double lm = m.forward(x, y, B, T);
                        p.data[at] = w;
                        double fd = (lp - lm) / (2 * h);
                        double g = p.grad[at];
                        assertEquals(fd, g, 2e-4 + 0.02 * Math.abs(g), c + " dropout " + dropout + " " + p.name
                                + "[" + at + "]");
                        checked++;
                    }
                }
                assertTrue(checked >= 6 * 2 * 2, "checked " + checked);
            }
        }
    }

    /** The index of the (k+1)-th largest |a[i]| (k = 0, 1, 2: small k only). */
    private static int argmaxAbs(float[] a, int k) {
        int[] best = new int[k + 1];
        java.util.Arrays.fill(best, -1);
        for (int j = 0; j <= k; j++) {
            int b = -1;
            for (int i = 0; i < a.length; i++) {
                boolean taken = false;
                for (int q = 0; q < j; q++) {
                    taken |= best[q] == i;
                }
                if (!taken && (b < 0 || Math.abs(a[i]) > Math.abs(a[b]))) {
                    b = i;
                }
            }
            best[j] = b;
        }
        return best[k];
    }

    /** Recomputation re-runs each block's forward with the same dropout mask: the same gradients, bit for bit. */
    @Test
    void recomputationGivesTheSameAdapterGradientsWithDropout() {
        for (GptConfig c : List.of(GPT2, LLAMA)) {
            Gpt base = new Gpt(c, B, 5);
            ModelSpec spec = ModelSpec.of(c, Lora.of(c, 2, null, List.of("all"), 0.3));
            Gpt plain = new Gpt(spec, B, false);
            Gpt rec = new Gpt(spec, B, true);
            Rng rng = new Rng(4);
            for (Param p : plain.params()) {
                Param q = rec.param(p.name);
                float[] src = base.param(p.name) != null ? base.param(p.name).data : null;
                if (src != null) {
                    System.arraycopy(src, 0, p.data, 0, p.size());
                } else {
                    rng.fillNormal(p.data, 0, 0.1);
                }
                System.arraycopy(p.data, 0, q.data, 0, p.size());
            }
            int[] x = GptTest.randomTokens(new Rng(1), B * T, c.vocab());
            int[] y = GptTest.randomTokens(new Rng(2), B * T, c.vocab());
            for (Gpt m : List.of(plain, rec)) {
                m.setDropoutSeed(42);
                Grads.zero(m.params());
                m.forward(x, y, B, T);
                m.backward(1f);
            }
            for (Param p : Param.trainable(plain.params())) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(p.grad, rec.param(p.name).grad, c + " " + p.name);
            }
        }
    }

    @Test
    void ledgerMatmulFlopsEqualTheFormulas() {
        for (GptConfig c : List.of(GPT2, LLAMA)) {
            for (List<String> targets : List.of(List.<String>of(), List.of("all"))) {
                int r = 4;
                Lora lora = Lora.of(c, r, null, targets, 0.1);
                Gpt m = adapted(new Gpt(c, B, 5), lora);
                m.setDropoutSeed(9);
                Ledger.setEnabled(true);
                Ledger.Snapshot before = Ledger.snapshot();
                Grads.zero(m.params());
                m.forward(GptTest.randomTokens(new Rng(1), B * T, c.vocab()),
                        GptTest.randomTokens(new Rng(2), B * T, c.vocab()), B, T);
                m.backward(1f);
                Ledger.Snapshot d = Ledger.snapshot().minus(before);
                // Na by hand: r·(in + out) for each adapted layer
                long C = c.dModel();
                long H = c.mlpHidden();
                long kv = (long) c.kvHeads() * c.headSize();
                long perBlock;
                if (c.family() == GptConfig.Family.GPT2) {
                    perBlock = targets.isEmpty() ? r * (C + 3 * C)
                            : r * (C + 3 * C) + r * (C + C) + r * (C + H) + r * (H + C);
                } else {
                    perBlock = targets.isEmpty() ? r * (C + C) + r * (C + kv)
                            : r * (C + C) + 2 * r * (C + kv) + r * (C + C) + 2 * r * (C + H) + r * (H + C);
                }
                long Na = c.layers() * perBlock;
                Analytic a = new Analytic(m.spec(), B, T);
                assertEquals(Na, a.adapterParameters(), c + " " + targets);
                long N = a.matmulParameters();
                long D = (long) B * T;
                assertEquals(2 * (N + Na) * D, d.flops(Phase.FORWARD, Kind.MATMUL), c + " forward");
                assertEquals((2 * N + 4 * Na) * D, d.flops(Phase.BACKWARD, Kind.MATMUL), c + " backward: dX of all"
                        + " + the adapters' four products, no dW of the frozen base");
                assertEquals(a.forwardMatmulFlopsPerPass(), d.flops(Phase.FORWARD, Kind.MATMUL));
                assertEquals(a.backwardMatmulFlopsPerPass(), d.flops(Phase.BACKWARD, Kind.MATMUL));
            }
        }
    }
}
