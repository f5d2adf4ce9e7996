package dev.sixpd.nn;

import dev.sixpd.nn.ledger.Analytic;
import dev.sixpd.nn.ledger.LedgerReport;
import dev.sixpd.nn.ledger.LedgerRun;
import dev.sixpd.nn.ledger.MemoryByCategory;
import dev.sixpd.optim.AdamW;
import dev.sixpd.optim.Grads;
import dev.sixpd.optim.ModelStateMemory;
import dev.sixpd.optim.Param;
import dev.sixpd.optim.Sgd;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Ledger.Kind;
import dev.sixpd.tensor.Ledger.Phase;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Frozen parameters: no gradient buffer, no optimizer state, no dW matmul, while dX still flows through them. A model
 * whose upper blocks (and head, final norm) are frozen must give its trainable tensors the very bits the unfrozen
 * model gives them, and the ledger's backward matmul FLOPs must drop by exactly the frozen dW products.
 */
class FrozenParamsTest {
    private static final int B = 2;
    private static final int T = 13;

    /** Everything but the embeddings and block 0 frozen. */
    private static ModelSpec frozenAbove0(GptConfig c) {
        return ModelSpec.of(c).freeze(p -> p.layer() != 0 && p.role() != ParamSpec.Role.EMBEDDING
                && p.role() != ParamSpec.Role.POSITION);
    }


    private static Ledger.Snapshot step(Gpt m, int[] x, int[] y) {
        Grads.zero(m.params());
        Ledger.setEnabled(true);
        Ledger.Snapshot before = Ledger.snapshot();
        m.forward(x, y, B, T);
        m.backward(1f);
        return Ledger.snapshot().minus(before);
    }

    @Test
    void trainableGradientsAreBitIdenticalAndTheLedgerDropsExactlyTheFrozenDw() {
        for (GptConfig c : List.of(GptConfig.gpt2(29, 17, 3, 24, 2), GptConfig.llama(29, 17, 3, 24, 4, 2))) {
            Gpt full = new Gpt(c, B, 5);
            ModelSpec spec = frozenAbove0(c);
            Gpt part = new Gpt(spec, B, false);
            for (int i = 0; i < full.params().size(); i++) {
                System.arraycopy(full.params().get(i).data, 0, part.params().get(i).data, 0,
                        full.params().get(i).size());
            }
            int[] x = GptTest.randomTokens(new Rng(1), B * T, c.vocab());
            int[] y = GptTest.randomTokens(new Rng(2), B * T, c.vocab());
            Ledger.Snapshot a = step(full, x, y);
            Ledger.Snapshot b = step(part, x, y);
            long frozenDw = 0;
            int trainable = 0;
            for (int i = 0; i < spec.params().size(); i++) {
                ParamSpec s = spec.params().get(i);
                Param p = part.params().get(i);
                assertEquals(s.trainable(), p.trainable, s.name());
                if (p.trainable) {
                    trainable++;
                    // the gradient reached block 0 through every frozen layer above it: dX flowed, bit for bit
                    assertArrayEquals(full.params().get(i).grad, p.grad, c + " " + s.name());
                } else {
                    assertEquals(0, p.grad.length, s.name() + " is frozen: no gradient buffer");
                    if (s.role() == ParamSpec.Role.WEIGHT || s.role() == ParamSpec.Role.HEAD) {
                        frozenDw += 2L * s.elements() * B * T;
                    }
                }
            }
            assertTrue(trainable > 2 && trainable < spec.params().size(), c + ": some tensors of each kind");
            assertEquals(a.flops(Phase.FORWARD, Kind.MATMUL), b.flops(Phase.FORWARD, Kind.MATMUL), "forward unchanged");
            assertEquals(a.flops(Phase.BACKWARD, Kind.MATMUL) - frozenDw, b.flops(Phase.BACKWARD, Kind.MATMUL),
                    c + ": backward matmuls drop by exactly the frozen dW products");
            assertEquals(new Analytic(spec, B, T).backwardMatmulFlopsPerPass(), b.flops(Phase.BACKWARD, Kind.MATMUL),
                    "the analytic count 2·N + 2·Nt");
            assertEquals(4 * new Analytic(c, B, T).matmulParameters() * B * T, a.flops(Phase.BACKWARD, Kind.MATMUL));
        }
    }

    @Test
    void optimizersClippingAndTheMemoryReportSkipFrozenTensors() {
        GptConfig c = GptConfig.gpt2(29, 17, 2, 24, 2);
        ModelSpec spec = frozenAbove0(c);
        Gpt m = new Gpt(spec, B, false);
        m.init(3);
        List<Param> ps = m.params();
        step(m, GptTest.randomTokens(new Rng(1), B * T, c.vocab()),
                GptTest.randomTokens(new Rng(2), B * T, c.vocab()));
        float[][] before = new float[ps.size()][];
        for (int i = 0; i < ps.size(); i++) {
            before[i] = ps.get(i).data.clone();
        }
        // the global norm is the trainable gradients' alone
        double ss = 0;
        for (Param p : ps) {
            for (float g : p.grad) {
                ss += (double) g * g;
            }
        }
        assertEquals(Math.sqrt(ss), Grads.globalNorm(ps), 1e-9 * Math.sqrt(ss));
        assertEquals(Grads.count(Param.trainable(ps)), Grads.count(ps));
        AdamW opt = AdamW.gptDefaults();
        opt.stepAndSync(ps, 1e-2f);
        Sgd sgd = new Sgd(0.9f, false, 0f);
        sgd.step(ps, 1e-2f);
        long trainable = 0;
        for (int i = 0; i < ps.size(); i++) {
            Param p = ps.get(i);
            if (p.trainable) {
                trainable += p.size();
                assertFalse(java.util.Arrays.equals(before[i], p.data) && p.size() > 0 && !allZero(p.grad),
                        p.name + " trained");
            } else {
                assertArrayEquals(before[i], p.data, p.name + " is frozen: unchanged");
                assertFalse(opt.state().containsKey(p.name + ".m"), p.name + ": no AdamW state");
            }
        }
        assertEquals(8 * trainable, opt.stateBytes(), "AdamW m and v for the trainable elements only");
        ModelStateMemory ms = ModelStateMemory.of(ps, opt);
        assertEquals(trainable, ms.trainable());
        assertEquals(spec.parameters() - trainable, ms.frozen());
        assertEquals(4 * trainable, ms.gradBytes());
        assertEquals(spec.trainableParameters(), trainable);
        MemoryByCategory mem = MemoryByCategory.measure(m, opt);
        assertEquals(trainable, mem.trainable());
        LedgerRun run = new LedgerRun(c, B, T, 1, 1, 0, true, DType.FP32, spec);
        LedgerReport r = LedgerReport.of(run, Ledger.snapshot().minus(Ledger.snapshot()), mem);
        for (LedgerReport.MemoryLine l : r.memoryLines()) {
            if (List.of("master_weights", "grads", "optimizer_state", "model_states").contains(l.key())) {
                assertEquals(l.formula(), l.measured(), l.key() + ": " + l.text());
            }
        }
        assertEquals(4 * spec.parameters() + 12 * trainable, mem.modelStates());
    }

    private static boolean allZero(float[] a) {
        for (float v : a) {
            if (v != 0f) {
                return false;
            }
        }
        return true;
    }
}
