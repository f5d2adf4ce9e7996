package dev.sixpd.nn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The shape of a decoder-only transformer: GPT-2 by default, LLaMA's parts as switches.
 *
 * <p>Every switch is chosen once, here, when the model is built; the layers then run one code path each (no
 * {@code if} inside their loops). What each switch does to the parameter list is in {@link ModelSpec}, the one
 * place that turns a config into named, shaped tensors.
 *
 * @param family    parameter names: {@link Family#GPT2} ({@code wte.weight}, {@code h.0.attn.c_attn.weight}, ...) or
 *                  {@link Family#LLAMA} (Hugging Face {@code LlamaForCausalLM}: {@code model.layers.0.self_attn.q_proj.weight}, ...)
 * @param vocab     V, tokens in the vocabulary (comes from the tokenizer)
 * @param context   T, the longest sequence the model sees (rows of the position table, or of the RoPE tables)
 * @param layers    L, transformer blocks
 * @param dModel    C, channels of the residual stream
 * @param heads     NH, query heads; each has {@code HS = C / NH} channels
 * @param kvHeads   KVH, key/value heads (grouped-query attention: NH / KVH query heads share one; 1 = multi-query;
 *                  NH = plain multi-head)
 * @param mlpHidden H, the MLP's hidden width (GELU default 4C; SwiGLU default 8C/3 rounded up to a multiple of 32)
 * @param norm      LayerNorm (x − mean)/std · g + b, or RMSNorm x / rms · g (no mean, no bias)
 * @param pos       learned position table added to the token embedding, or rotary embeddings on q and k
 * @param mlp       GELU MLP {@code proj(gelu(fc(x)))}, or SwiGLU {@code down(silu(gate(x)) ⊙ up(x))}
 * @param block     sequential {@code x + attn(n1(x)); + mlp(n2(·))}, or parallel {@code x + attn(n(x)) + mlp(n(x))}
 * @param bias      biases in every linear layer (and in LayerNorm)
 * @param tieHead   the LM head is the token embedding (no separate {@code lm_head.weight})
 * @param attention the attention kernel: naive (keeps the {@code [B, NH, T, T]} probabilities for backward) or
 *                  flash (tiled, online softmax, keeps one log-sum-exp per row and recomputes the scores in backward);
 *                  the same function, a different memory and FLOP budget
 */
public record GptConfig(Family family, int vocab, int context, int layers, int dModel, int heads, int kvHeads,
                        int mlpHidden, Norm norm, Pos pos, Mlp mlp, Block block, boolean bias, boolean tieHead,
                        Attn attention) {

    /** Whose parameter names the model uses. */
    public enum Family { GPT2, LLAMA }

    public enum Norm { LAYERNORM, RMSNORM }

    public enum Pos { LEARNED, ROPE }

    public enum Mlp { GELU, SWIGLU }

    public enum Block { SEQUENTIAL, PARALLEL }

    public enum Attn { NAIVE, FLASH }

    /** ε of LayerNorm and RMSNorm: 1e-5 (GPT-2's and LLaMA's {@code rms_norm_eps}). */
    public static final float NORM_EPS = 1e-5f;
    /** RoPE base θ (LLaMA's {@code rope_theta}). */
    public static final double ROPE_THETA = 10000.0;

    /** A named preset: everything but the vocabulary, which comes from the tokenizer. */
    public record Preset(String name, GptConfig shape, String note) {
        public GptConfig withVocab(int vocab) {
            return shape.withVocab(vocab);
        }

        public int context() {
            return shape.context;
        }
    }

    /** The presets, in size order. */
    public static final Map<String, Preset> PRESETS = presets();

    private static Map<String, Preset> presets() {
        Map<String, Preset> m = new LinkedHashMap<>();
        m.put("tiny", new Preset("tiny", gpt2(1, 64, 2, 64, 4), "learns in about a minute; the test preset"));
        m.put("small", new Preset("small", gpt2(1, 128, 4, 128, 4),
                "the default for train: visibly learns Java in minutes"));
        m.put("medium", new Preset("medium", gpt2(1, 256, 6, 384, 6),
                "the PyTorch comparison model; slow on 2 cores"));
        m.put("llama-tiny", new Preset("llama-tiny", llama(1, 64, 2, 64, 4, 2),
                "tiny's size, LLaMA's parts: RMSNorm, RoPE, SwiGLU, 2 K/V heads, no biases, untied head"));
        m.put("llama-small", new Preset("llama-small", llama(1, 128, 4, 128, 4, 2),
                "small's size, LLaMA's parts"));
        return Collections.unmodifiableMap(m);
    }

    /** A GPT-2: LayerNorm, learned positions, GELU MLP of 4C, multi-head attention, biases, tied head. */
    public static GptConfig gpt2(int vocab, int context, int layers, int dModel, int heads) {
        return new GptConfig(Family.GPT2, vocab, context, layers, dModel, heads, heads, 0, Norm.LAYERNORM,
                Pos.LEARNED, Mlp.GELU, Block.SEQUENTIAL, true, true, Attn.NAIVE);
    }

    /** A LLaMA: RMSNorm, RoPE, SwiGLU of 8C/3 (rounded up to 32), {@code kvHeads} K/V heads, no biases, untied. */
    public static GptConfig llama(int vocab, int context, int layers, int dModel, int heads, int kvHeads) {
        return new GptConfig(Family.LLAMA, vocab, context, layers, dModel, heads, kvHeads, 0, Norm.RMSNORM, Pos.ROPE,
                Mlp.SWIGLU, Block.SEQUENTIAL, false, false, Attn.NAIVE);
    }

    /** The GPT-2 shape of the first version of sixpd (kept for callers that name only the five sizes). */
    public GptConfig(int vocab, int context, int layers, int dModel, int heads) {
        this(Family.GPT2, vocab, context, layers, dModel, heads, heads, 0, Norm.LAYERNORM, Pos.LEARNED, Mlp.GELU,
                Block.SEQUENTIAL, true, true, Attn.NAIVE);
    }

    public GptConfig {
        if (family == null || norm == null || pos == null || mlp == null || block == null || attention == null) {
            throw new IllegalArgumentException("model config: family, norm, pos, mlp, block and attention must all be"
                    + " set");
        }
        check(vocab, "vocab");
        check(context, "context");
        check(layers, "layers");
        check(dModel, "d_model");
        check(heads, "heads");
        if (dModel % heads != 0) {
            throw new IllegalArgumentException("heads (" + heads + ") must divide d_model (" + dModel
                    + "): choose heads among the divisors of " + dModel + ", e.g. " + nearDivisor(dModel, heads));
        }
        if (kvHeads < 1 || kvHeads > heads || heads % kvHeads != 0) {
            throw new IllegalArgumentException("kv-heads (" + kvHeads + ") must divide heads (" + heads
                    + "): 1 (multi-query) .. " + heads + " (multi-head), e.g. " + nearDivisor(heads, Math.max(1,
                    Math.min(kvHeads, heads))));
        }
        if (pos == Pos.ROPE && (dModel / heads) % 2 != 0) {
            throw new IllegalArgumentException("RoPE rotates channel pairs: the head size d_model/heads = "
                    + dModel / heads + " must be even; change --d-model or --heads");
        }
        if (mlpHidden < 0) {
            throw new IllegalArgumentException("mlp-hidden must be positive (0: the default), got " + mlpHidden);
        }
        if (mlpHidden == 0) {
            mlpHidden = defaultMlpHidden(mlp, dModel);
        }
    }

    /**
     * Throws unless every parameter tensor fits in one Java array: checked when a {@link Gpt} is built, not here, so
     * that the planner can describe models no JVM could hold (PaLM's 256K × 18,432 embedding, a 1M-token context).
     */
    public void checkArrays() {
        long w = (long) dModel * Math.max(mlpHidden, dModel + 2L * kvHeads * (dModel / heads));
        long table = (long) context * (pos == Pos.LEARNED ? dModel : headSize());
        if (w > Integer.MAX_VALUE - 16 || (long) vocab * dModel > Integer.MAX_VALUE - 16
                || table > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("model config " + dModel + " channels × " + mlpHidden + " hidden, vocab "
                    + vocab + ", context " + context + ": a weight matrix would exceed a Java array; choose smaller"
                    + " sizes");
        }
    }

    /** GELU: 4C. SwiGLU: 8C/3 rounded up to a multiple of 32 (LLaMA's choice keeps the parameters of a 4C MLP). */
    public static int defaultMlpHidden(Mlp mlp, int dModel) {
        if (mlp == Mlp.GELU) {
            return Math.multiplyExact(4, dModel);
        }
        long h = (8L * dModel + 2) / 3;
        return Math.toIntExact((h + 31) / 32 * 32);
    }

    /** The preset called {@code name} with vocabulary {@code vocab}; an unknown name lists the presets. */
    public static GptConfig preset(String name, int vocab) {
        Preset p = PRESETS.get(name == null ? "" : name.toLowerCase(Locale.ROOT));
        if (p == null) {
            throw new IllegalArgumentException("unknown preset '" + name + "': use one of " + String.join(", ",
                    PRESETS.keySet()));
        }
        return p.withVocab(vocab);
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

    /** Channels per head, {@code HS = C / NH}. */
    public int headSize() {
        return dModel / heads;
    }

    /** Width of the fused q, k, v rows: {@code (NH + 2·KVH)·HS} ({@code 3C} for multi-head attention). */
    public int qkvWidth() {
        return (heads + 2 * kvHeads) * headSize();
    }

    /** Parameters P, from {@link ModelSpec}. */
    public long parameterCount() {
        return ModelSpec.of(this).parameters();
    }

    // ------------------------------------------------------------------------------------------------ with...

    public GptConfig withVocab(int v) {
        return new GptConfig(family, v, context, layers, dModel, heads, kvHeads, mlpHidden, norm, pos, mlp, block,
                bias, tieHead, attention);
    }

    /**
     * The sizes changed: {@code <= 0} keeps a value. A new head count resets the K/V heads to keep the preset's
     * ratio NH/KVH when it still divides (else multi-head), and a new width resets the MLP width to its default.
     */
    public GptConfig withSizes(int context, int layers, int dModel, int heads) {
        int c = dModel > 0 ? dModel : this.dModel;
        int nh = heads > 0 ? heads : this.heads;
        int group = this.heads / this.kvHeads;
        int kv = nh == this.heads ? kvHeads : (nh % group == 0 ? nh / group : nh);
        int h = c == this.dModel && nh == this.heads ? mlpHidden : 0;
        return new GptConfig(family, vocab, context > 0 ? context : this.context, layers > 0 ? layers : this.layers,
                c, nh, kv, h, norm, pos, mlp, block, bias, tieHead, attention);
    }

    public GptConfig withKvHeads(int kv) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kv, mlpHidden, norm, pos, mlp, block, bias,
                tieHead, attention);
    }

    /** The MLP's hidden width; {@code 0}: the default for the MLP kind. */
    public GptConfig withMlpHidden(int h) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kvHeads, h, norm, pos, mlp, block, bias,
                tieHead, attention);
    }

    public GptConfig withNorm(Norm n) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kvHeads, mlpHidden, n, pos, mlp, block,
                bias, tieHead, attention);
    }

    public GptConfig withPos(Pos p) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kvHeads, mlpHidden, norm, p, mlp, block,
                bias, tieHead, attention);
    }

    /** The MLP kind; the hidden width goes back to that kind's default. */
    public GptConfig withMlp(Mlp m) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kvHeads, 0, norm, pos, m, block, bias,
                tieHead, attention);
    }

    public GptConfig withBlock(Block b) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kvHeads, mlpHidden, norm, pos, mlp, b,
                bias, tieHead, attention);
    }

    public GptConfig withBias(boolean b) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kvHeads, mlpHidden, norm, pos, mlp, block,
                b, tieHead, attention);
    }

    public GptConfig withAttention(Attn a) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kvHeads, mlpHidden, norm, pos, mlp, block,
                bias, tieHead, a);
    }

    public GptConfig withTieHead(boolean t) {
        return new GptConfig(family, vocab, context, layers, dModel, heads, kvHeads, mlpHidden, norm, pos, mlp, block,
                bias, t, attention);
    }

    /**
     * The architecture switches a user gave (null: keep this config's); a new MLP kind resets the MLP width to that
     * kind's default, so give a width after it ({@link #withMlpHidden}). Used by {@code train}'s options and by the
     * planner's, so both read a switch the same way.
     */
    public GptConfig withSwitches(Norm norm, Pos pos, Mlp mlp, Block block, Boolean bias, Boolean tieHead,
                                  Attn attention) {
        GptConfig c = this;
        if (mlp != null && mlp != c.mlp) {
            c = c.withMlp(mlp);
        }
        if (norm != null) {
            c = c.withNorm(norm);
        }
        if (pos != null) {
            c = c.withPos(pos);
        }
        if (block != null) {
            c = c.withBlock(block);
        }
        if (bias != null) {
            c = c.withBias(bias);
        }
        if (tieHead != null) {
            c = c.withTieHead(tieHead);
        }
        if (attention != null) {
            c = c.withAttention(attention);
        }
        return c;
    }

    // ------------------------------------------------------------------------------------------------ JSON

    /**
     * The config as a map for JSON: {@code vocab, context, layers, d_model, heads} as in sixpd's first checkpoints,
     * then {@code family, kv_heads, mlp_hidden, norm, pos, mlp, block, bias, tie_head}.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vocab", vocab);
        m.put("context", context);
        m.put("layers", layers);
        m.put("d_model", dModel);
        m.put("heads", heads);
        m.put("family", lower(family));
        m.put("kv_heads", kvHeads);
        m.put("mlp_hidden", mlpHidden);
        m.put("norm", lower(norm));
        m.put("pos", lower(pos));
        m.put("mlp", lower(mlp));
        m.put("block", lower(block));
        m.put("bias", bias);
        m.put("tie_head", tieHead);
        m.put("attention", lower(attention));
        return m;
    }

    /** The inverse of {@link #toMap()}; keys a first-version checkpoint lacks take GPT-2's values. */
    public static GptConfig fromMap(Map<String, ?> m) {
        int heads = intOf(m, "heads");
        GptConfig g = new GptConfig(intOf(m, "vocab"), intOf(m, "context"), intOf(m, "layers"), intOf(m, "d_model"),
                heads);
        return new GptConfig(enumOf(m, "family", Family.class, Family.GPT2), g.vocab, g.context, g.layers, g.dModel,
                heads, m.containsKey("kv_heads") ? intOf(m, "kv_heads") : heads,
                m.containsKey("mlp_hidden") ? intOf(m, "mlp_hidden") : 0, enumOf(m, "norm", Norm.class, Norm.LAYERNORM),
                enumOf(m, "pos", Pos.class, Pos.LEARNED), enumOf(m, "mlp", Mlp.class, Mlp.GELU),
                enumOf(m, "block", Block.class, Block.SEQUENTIAL), boolOf(m, "bias", true), boolOf(m, "tie_head", true),
                enumOf(m, "attention", Attn.class, Attn.NAIVE));
    }

    /**
     * Hugging Face {@code LlamaConfig} fields of this model, for the {@code config.json} beside a LLaMA-family
     * checkpoint (so its tensors mean the same there).
     */
    public Map<String, Object> llamaConfig() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", java.util.List.of("LlamaForCausalLM"));
        m.put("model_type", "llama");
        m.put("hidden_size", dModel);
        m.put("intermediate_size", mlpHidden);
        m.put("num_attention_heads", heads);
        m.put("num_key_value_heads", kvHeads);
        m.put("num_hidden_layers", layers);
        m.put("rms_norm_eps", (double) NORM_EPS);
        m.put("rope_theta", ROPE_THETA);
        m.put("vocab_size", vocab);
        m.put("max_position_embeddings", context);
        m.put("tie_word_embeddings", tieHead);
        m.put("attention_bias", bias);
        m.put("mlp_bias", bias);
        m.put("hidden_act", mlp == Mlp.SWIGLU ? "silu" : "gelu_pytorch_tanh");
        m.put("torch_dtype", "float32");
        return m;
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    private static int intOf(Map<String, ?> m, String k) {
        Object o = m.get(k);
        if (!(o instanceof Number n) || n.doubleValue() != n.intValue()) {
            throw new IllegalArgumentException("model config lacks the integer '" + k + "' (got " + o + ")");
        }
        return n.intValue();
    }

    private static boolean boolOf(Map<String, ?> m, String k, boolean dflt) {
        Object o = m.get(k);
        if (o == null) {
            return dflt;
        }
        if (!(o instanceof Boolean b)) {
            throw new IllegalArgumentException("model config '" + k + "' must be true or false, got " + o);
        }
        return b;
    }

    private static <E extends Enum<E>> E enumOf(Map<String, ?> m, String k, Class<E> type, E dflt) {
        Object o = m.get(k);
        return o == null ? dflt : parse(type, k, o.toString());
    }

    /** Parses a lower-case switch value ({@code rmsnorm}, {@code rope}, ...); an unknown one lists the choices. */
    public static <E extends Enum<E>> E parse(Class<E> type, String what, String value) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(value.replace('-', '_'))) {
                return e;
            }
        }
        StringBuilder sb = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            sb.append(sb.length() == 0 ? "" : ", ").append(lower(e));
        }
        throw new IllegalArgumentException(what + " must be one of " + sb + ", got '" + value + "'");
    }

    /** GPT-2's defaults for everything but the sizes. */
    public boolean isPlainGpt2() {
        return family == Family.GPT2 && kvHeads == heads && mlpHidden == 4 * dModel && norm == Norm.LAYERNORM
                && pos == Pos.LEARNED && mlp == Mlp.GELU && block == Block.SEQUENTIAL && bias && tieHead
                && attention == Attn.NAIVE;
    }

    @Override
    public String toString() {
        String s = "V=" + vocab + " T=" + context + " L=" + layers + " C=" + dModel + " NH=" + heads;
        if (isPlainGpt2()) {
            return s;
        }
        return s + " KVH=" + kvHeads + " H=" + mlpHidden + " " + lower(norm) + " " + lower(pos) + " " + lower(mlp)
                + (block == Block.PARALLEL ? " parallel" : "") + (bias ? " bias" : " no-bias")
                + (tieHead ? " tied" : " untied") + (attention == Attn.FLASH ? " flash" : "") + " (" + lower(family)
                + " names)";
    }
}
