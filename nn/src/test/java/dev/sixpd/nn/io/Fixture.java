package dev.sixpd.nn.io;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.data.Tokenizer;
import dev.sixpd.optim.AdamW;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Rng;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A small model, tokenizer and AdamW with random weights and random optimizer state, saved and compared. */
final class Fixture {
    static final Tokenizer TOK = Tokenizer.train("char", "abcdefgh", 0);
    static final GptConfig CFG = new GptConfig(TOK.vocabSize(), 8, 1, 16, 2);

    final Gpt model;
    final AdamW opt;

    /** A model and optimizer whose every value is drawn from {@code seed}. */
    Fixture(long seed) {
        model = new Gpt(CFG, 1, seed);
        opt = new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
        opt.init(model.params());
        Rng r = new Rng(seed + 1);
        for (float[] s : opt.state().values()) {
            for (int i = 0; i < s.length; i++) {
                s[i] = (float) r.nextDouble();
            }
        }
    }

    void save(Path dir, long step) throws Exception {
        Checkpoint.save(dir, step, model, TOK, opt, null, Checkpoint.newObject());
    }

    /** Loads {@code dir} into a fresh model and optimizer through the real loader. */
    static Fixture load(Path dir) {
        return new Fixture(999).loadFrom(dir);
    }

    /** Loads {@code dir} into this model and optimizer (every value is overwritten when the load succeeds). */
    Fixture loadFrom(Path dir) {
        Checkpoint.State st = Checkpoint.readState(dir);
        Checkpoint.loadModel(st, model);
        Checkpoint.loadOptimizer(st, model, opt);
        return this;
    }

    /** Every parameter and optimizer value, bit for bit, keyed by name. */
    Map<String, float[]> values() {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (Param p : model.params()) {
            m.put(p.name, p.data.clone());
        }
        opt.state().forEach((k, v) -> m.put("opt:" + k, v.clone()));
        return m;
    }

    void assertSameAs(Fixture o) {
        Map<String, float[]> a = values();
        Map<String, float[]> b = o.values();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), k);
        }
        assertEquals(opt.stepCount(), o.opt.stepCount());
    }

    List<Param> params() {
        return model.params();
    }
}
