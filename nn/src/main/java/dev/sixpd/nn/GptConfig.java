package dev.sixpd.nn;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shape of a GPT-2-style model.
 *
 * @param vocab   V, tokens in the vocabulary (comes from the tokenizer)
 * @param context T, the longest sequence the model sees (rows of {@code wpe})
 * @param layers  L, transformer blocks
 * @param dModel  C, channels of the residual stream
 * @param heads   NH, attention heads; each head has {@code C / NH} channels
 */
public record GptConfig(int vocab, int context, int layers, int dModel, int heads) {

    /** A named preset: everything but the vocabulary, which comes from the tokenizer. */
    public record Preset(String name, int context, int layers, int dModel, int heads, String note) {
        public GptConfig withVocab(int vocab) {
            return new GptConfig(vocab, context, layers, dModel, heads);
        }
    }

    /** The presets, in size order. */
    public static final Map<String, Preset> PRESETS = presets();

    private static Map<String, Preset> presets() {
        Map<String, Preset> m = new LinkedHashMap<>();
        m.put("tiny", new Preset("tiny", 64, 2, 64, 4, "learns in about a minute; the test preset"));
        m.put("small", new Preset("small", 128, 4, 128, 4, "the default for train: visibly learns Java in minutes"));
        m.put("medium", new Preset("medium", 256, 6, 384, 6, "the PyTorch comparison model; slow on 2 cores"));
        return java.util.Collections.unmodifiableMap(m);
    }

    public GptConfig {
        validate(vocab, context, layers, dModel, heads);
    }

    /** The preset called {@code name} with vocabulary {@code vocab}; an unknown name lists the presets. */
    public static GptConfig preset(String name, int vocab) {
        Preset p = PRESETS.get(name == null ? "" : name.toLowerCase(java.util.Locale.ROOT));
        if (p == null) {
            throw new IllegalArgumentException("unknown preset '" + name + "': use one of " + String.join(", ",
                    PRESETS.keySet()));
        }
        return p.withVocab(vocab);
    }

    private static void validate(int vocab, int context, int layers, int dModel, int heads) {
        check(vocab, "vocab");
        check(context, "context");
        check(layers, "layers");
        check(dModel, "d_model");
        check(heads, "heads");
        if (dModel % heads != 0) {
            throw new IllegalArgumentException("heads (" + heads + ") must divide d_model (" + dModel
                    + "): choose heads among the divisors of " + dModel + ", e.g. " + nearDivisor(dModel, heads));
        }
    }

    private static void check(int v, String what) {
        if (v <= 0) {
            throw new IllegalArgumentException(what + " must be positive, got " + v);
        }
    }

    private static int nearDivisor(int c, int h) {
        for (int d = 0; ; d++) {
            if (h - d >= 1 && c % (h - d) == 0) {
                return h - d;
            }
            if (c % (h + d) == 0) {
                return h + d;
            }
        }
    }

    /** Channels per head, {@code C / NH}. */
    public int headSize() {
        return dModel / heads;
    }

    /**
     * Parameters: P = V·C + T·C + L·(12C² + 13C) + 2C. Per block: c_attn 3C²+3C, attn.c_proj C²+C, c_fc 4C²+4C,
     * mlp.c_proj 4C²+C, two LayerNorms 4C; the LM head is tied to wte and adds nothing.
     */
    public long parameterCount() {
        long v = vocab;
        long t = context;
        long c = dModel;
        return v * c + t * c + (long) layers * (12 * c * c + 13 * c) + 2 * c;
    }

    /** The config as a map for JSON: keys {@code vocab, context, layers, d_model, heads}. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vocab", vocab);
        m.put("context", context);
        m.put("layers", layers);
        m.put("d_model", dModel);
        m.put("heads", heads);
        return m;
    }

    /** The inverse of {@link #toMap()}. */
    public static GptConfig fromMap(Map<String, ?> m) {
        return new GptConfig(intOf(m, "vocab"), intOf(m, "context"), intOf(m, "layers"), intOf(m, "d_model"),
                intOf(m, "heads"));
    }

    private static int intOf(Map<String, ?> m, String k) {
        Object o = m.get(k);
        if (!(o instanceof Number n)) {
            throw new IllegalArgumentException("model config lacks the integer '" + k + "' (got " + o + ")");
        }
        return n.intValue();
    }

    @Override
    public String toString() {
        return "V=" + vocab + " T=" + context + " L=" + layers + " C=" + dModel + " NH=" + heads;
    }
}
