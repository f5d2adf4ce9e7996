package dev.sixpd.nn;

import dev.sixpd.nn.GptConfig.Block;
import dev.sixpd.nn.GptConfig.Family;
import dev.sixpd.nn.GptConfig.Mlp;
import dev.sixpd.nn.GptConfig.Norm;
import dev.sixpd.nn.GptConfig.Pos;
import dev.sixpd.nn.ParamSpec.Init;
import dev.sixpd.nn.ParamSpec.Role;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model's parameter tensors, listed once from its config: the single source of the parameter count P, the
 * matmul parameters N (and so the analytic FLOPs 2·N and 4·N per token), the checkpoint names, the shapes the model
 * allocates and the benchmarks run at, and P and N as formulas. Like llm.c's {@code fill_in_parameter_sizes}:
 * adding a tensor is one line in {@link #of}.
 *
 * <p>Order: embeddings, then each block in forward order, then the final norm and an untied head. The order is the
 * order of {@link Gpt#params()}, of initialisation (one random stream in this order), and of the checkpoint.
 *
 * <p>Names: the GPT-2 family keeps GPT-2's names as PyTorch spells them ({@code wte.weight}, {@code wpe.weight},
 * {@code h.{i}.ln_1.weight}, {@code h.{i}.attn.c_attn.weight} (q, k, v fused), {@code h.{i}.attn.c_proj.weight},
 * {@code h.{i}.ln_2.weight}, {@code h.{i}.mlp.c_fc.weight}, {@code h.{i}.mlp.c_proj.weight}, {@code ln_f.weight};
 * with SwiGLU also {@code h.{i}.mlp.c_gate.weight}; an untied head {@code lm_head.weight}). The LLaMA family uses
 * Hugging Face {@code LlamaForCausalLM}'s names ({@code model.embed_tokens.weight},
 * {@code model.layers.{i}.input_layernorm.weight}, {@code ...self_attn.{q,k,v,o}_proj.weight},
 * {@code ...post_attention_layernorm.weight}, {@code ...mlp.{gate,up,down}_proj.weight}, {@code model.norm.weight},
 * {@code lm_head.weight}); a learned position table there is {@code model.embed_positions.weight} (LLaMA has none).
 *
 * <p>Immutable.
 */
public final class ModelSpec {
    public final GptConfig config;
    /** The LoRA settings the adapters were added with (their scale α/r and dropout), or null without adapters. */
    public final Lora lora;
    private final List<ParamSpec> params;

    private ModelSpec(GptConfig config, Lora lora, List<ParamSpec> params) {
        this.config = config;
        this.lora = lora;
        this.params = Collections.unmodifiableList(params);
    }

    /** The tensors of {@code c}, all trainable. */
    public static ModelSpec of(GptConfig c) {
        return of(c, null);
    }

    /**
     * The tensors of {@code c} with LoRA adapters on the linear layers {@code lora} targets (null: none). Each
     * adapted layer's weight is followed by its {@code <module>.lora_A.weight [r, in]} (Kaiming-uniform) and
     * {@code <module>.lora_B.weight [out, r]} (zero), trainable, not decayed; with adapters every base tensor is
     * frozen.
     */
    public static ModelSpec of(GptConfig c, Lora lora) {
        java.util.Set<String> parts = lora == null ? java.util.Set.of() : lora.parts(c);
        int r = lora == null ? 0 : lora.rank();
        Names n = new Names(c);
        int V = c.vocab(), T = c.context(), C = c.dModel(), H = c.mlpHidden(), HS = c.headSize();
        int KV = c.kvHeads() * HS;
        boolean b = c.bias();
        // the MLP's size symbol: H, or 4C when H is GELU's default (so GPT-2 reads 12C² + 13C)
        Poly cH = H == 4 * C ? Poly.of(4, "C", "C") : Poly.of(1, "C", "H");
        Poly pH = H == 4 * C ? Poly.of(4, "C") : Poly.of(1, "H");
        List<ParamSpec> ps = new ArrayList<>();
        add(ps, n.tokenEmbedding(), Init.NORMAL, false, Role.EMBEDDING, -1, Poly.of(1, "V", "C"), V, C);
        if (c.pos() == Pos.LEARNED) {
            add(ps, n.positionEmbedding(), Init.NORMAL, false, Role.POSITION, -1, Poly.of(1, "T", "C"), T, C);
        }
        for (int l = 0; l < c.layers(); l++) {
            norm(ps, c, n.norm1(l), l);
            // attention: q, k, v projections (fused for GPT-2), then the output projection
            if (c.family() == Family.GPT2) {
                boolean mha = c.kvHeads() == c.heads();
                linear(ps, parts, r, "qkv", n.qkv(l).get(0), l, b, c.qkvWidth(), C, Init.NORMAL,
                        mha ? Poly.of(3, "C", "C") : Poly.of(1, "C", "C").plus(Poly.of(2, "C", "HS", "KVH")),
                        mha ? Poly.of(3, "C") : Poly.of(1, "C").plus(Poly.of(2, "HS", "KVH")));
            } else {
                linear(ps, parts, r, "q", n.qkv(l).get(0), l, b, C, C, Init.NORMAL, Poly.of(1, "C", "C"),
                        Poly.of(1, "C"));
                boolean mha = c.kvHeads() == c.heads();
                Poly kvW = mha ? Poly.of(1, "C", "C") : Poly.of(1, "C", "HS", "KVH");
                Poly kvB = mha ? Poly.of(1, "C") : Poly.of(1, "HS", "KVH");
                linear(ps, parts, r, "k", n.qkv(l).get(1), l, b, KV, C, Init.NORMAL, kvW, kvB);
                linear(ps, parts, r, "v", n.qkv(l).get(2), l, b, KV, C, Init.NORMAL, kvW, kvB);
            }
            linear(ps, parts, r, "o", n.attnProj(l), l, b, C, C, Init.NORMAL_RESIDUAL, Poly.of(1, "C", "C"),
                    Poly.of(1, "C"));
            if (c.block() == Block.SEQUENTIAL) {
                norm(ps, c, n.norm2(l), l);
            }
            // MLP: GELU has fc (C → H) and proj (H → C); SwiGLU has gate and up (C → H) and down (H → C)
            boolean swiglu = c.mlp() == Mlp.SWIGLU;
            if (swiglu) {
                linear(ps, parts, r, "gate", n.mlpGate(l), l, b, H, C, Init.NORMAL, cH, pH);
            }
            linear(ps, parts, r, swiglu ? "up" : "fc", n.mlpUp(l), l, b, H, C, Init.NORMAL, cH, pH);
            linear(ps, parts, r, swiglu ? "down" : "proj", n.mlpDown(l), l, b, C, H, Init.NORMAL_RESIDUAL, cH,
                    Poly.of(1, "C"));
        }
        norm(ps, c, n.normF(), -1);
        if (!c.tieHead()) {
            add(ps, n.head(), Init.NORMAL, true, Role.HEAD, -1, Poly.of(1, "V", "C"), V, C);
        }
        if (lora != null) {
            // the base model is frozen: only the adapters train
            ps.replaceAll(p -> p.role() == Role.ADAPTER ? p : p.withTrainable(false));
        }
        return new ModelSpec(c, lora, ps);
    }

    /** This spec with the tensors {@code frozen} selects made frozen (no gradient, no optimizer state). */
    public ModelSpec freeze(java.util.function.Predicate<ParamSpec> frozen) {
        List<ParamSpec> ps = new ArrayList<>(params);
        ps.replaceAll(p -> frozen.test(p) ? p.withTrainable(false) : p);
        return new ModelSpec(config, lora, ps);
    }

    private static void add(List<ParamSpec> ps, String name, Init init, boolean decay, Role role, int layer, Poly size,
                            int... shape) {
        ps.add(new ParamSpec(name, shape, size, init, decay, true, role, layer));
    }

    /**
     * A linear layer {@code [out, in]} (decayed) and, with biases, its bias {@code [out]} (not decayed); when
     * {@code parts} holds its {@code part}, its LoRA adapter A {@code [r, in]} and B {@code [out, r]}.
     */
    private static void linear(List<ParamSpec> ps, java.util.Set<String> parts, int r, String part, String weight,
                               int layer, boolean bias, int out, int in, Init init, Poly weightSize, Poly biasSize) {
        add(ps, weight, init, true, Role.WEIGHT, layer, weightSize, out, in);
        if (bias) {
            add(ps, biasName(weight), Init.ZEROS, false, Role.BIAS, layer, biasSize, out);
        }
        if (parts.contains(part)) {
            // the bias's size is the layer's output width; the input width is C, or the MLP's H for its down projection
            Poly inSize = part.equals("proj") || part.equals("down")
                    ? (weightSize.equals(Poly.of(4, "C", "C")) ? Poly.of(4, "C") : Poly.of(1, "H")) : Poly.of(1, "C");
            add(ps, loraA(weight), Init.KAIMING_UNIFORM, false, Role.ADAPTER, layer, inSize.times(1, "r"), r, in);
            add(ps, loraB(weight), Init.ZEROS, false, Role.ADAPTER, layer, biasSize.times(1, "r"), out, r);
        }
    }

    /** {@code x.weight → x.lora_A.weight}: the adapter's down projection A {@code [r, in]}, named as PEFT names it. */
    public static String loraA(String weight) {
        return weight.substring(0, weight.length() - ".weight".length()) + ".lora_A.weight";
    }

    /** {@code x.weight → x.lora_B.weight}: the adapter's up projection B {@code [out, r]}. */
    public static String loraB(String weight) {
        return weight.substring(0, weight.length() - ".weight".length()) + ".lora_B.weight";
    }

    /** A norm's gain {@code [C]}, and its bias for LayerNorm with biases. */
    private static void norm(List<ParamSpec> ps, GptConfig c, String gain, int layer) {
        add(ps, gain, Init.ONES, false, Role.NORM, layer, Poly.of(1, "C"), c.dModel());
        if (c.norm() == Norm.LAYERNORM && c.bias()) {
            add(ps, biasName(gain), Init.ZEROS, false, Role.NORM, layer, Poly.of(1, "C"), c.dModel());
        }
    }

    /** {@code x.weight → x.bias}. */
    static String biasName(String weight) {
        return weight.substring(0, weight.length() - ".weight".length()) + ".bias";
    }

    // ------------------------------------------------------------------------------------------------ the list

    /** Every tensor, in model order. */
    public List<ParamSpec> params() {
        return params;
    }

    /** The tensor named {@code name}, or null. */
    public ParamSpec param(String name) {
        for (ParamSpec p : params) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------------ counts

    /** P: every parameter once (a tied head is the token embedding). */
    public long parameters() {
        long s = 0;
        for (ParamSpec p : params) {
            s += p.elements();
        }
        return s;
    }

    /**
     * N: parameters multiplied in matmuls, once per token forward: every linear weight and the LM head (the token
     * embedding again when tied: its lookup is not a matmul, its use as the head is).
     */
    public long matmulParameters() {
        long s = 0;
        for (ParamSpec p : params) {
            if (p.role() == Role.WEIGHT || p.role() == Role.HEAD) {
                s += p.elements();
            }
        }
        return config.tieHead() ? s + (long) config.vocab() * config.dModel() : s;
    }

    /** Linear weights of one block (its share of N; the same for every block). */
    public long blockMatmulParameters() {
        long s = 0;
        for (ParamSpec p : params) {
            if (p.role() == Role.WEIGHT && p.layer() == 0) {
                s += p.elements();
            }
        }
        return s;
    }

    /** Elements AdamW decays. */
    public long decayedParameters() {
        long s = 0;
        for (ParamSpec p : params) {
            if (p.decay()) {
                s += p.elements();
            }
        }
        return s;
    }

    /** The LoRA adapters' elements (0 without adapters): their share of the matmul FLOPs is 2 forward, 4 backward. */
    public long adapterParameters() {
        long s = 0;
        for (ParamSpec p : params) {
            if (p.role() == Role.ADAPTER) {
                s += p.elements();
            }
        }
        return s;
    }

    /** One block's adapter elements (its share of the adapters; the same for every block). */
    public long blockAdapterParameters() {
        long s = 0;
        for (ParamSpec p : params) {
            if (p.role() == Role.ADAPTER && p.layer() == 0) {
                s += p.elements();
            }
        }
        return s;
    }

    /**
     * The part of N whose dW backward computes: trainable linear weights and head (a tied head trains with the token
     * embedding). Without frozen tensors this is N.
     */
    public long trainableMatmulParameters() {
        long s = 0;
        for (ParamSpec p : params) {
            if ((p.role() == Role.WEIGHT || p.role() == Role.HEAD) && p.trainable()) {
                s += p.elements();
            }
        }
        ParamSpec wte = params.get(0);
        return config.tieHead() && wte.trainable() ? s + (long) config.vocab() * config.dModel() : s;
    }

    /** Decayed elements the optimizer updates (frozen ones are not decayed: they are not updated at all). */
    public long trainableDecayedParameters() {
        long s = 0;
        for (ParamSpec p : params) {
            if (p.decay() && p.trainable()) {
                s += p.elements();
            }
        }
        return s;
    }

    /** Elements the optimizer updates. */
    public long trainableParameters() {
        long s = 0;
        for (ParamSpec p : params) {
            if (p.trainable()) {
                s += p.elements();
            }
        }
        return s;
    }

    // ------------------------------------------------------------------------------------------------ formulas

    /** P as a formula: the terms outside the blocks, plus {@code L·(one block)}. */
    public String parametersFormula() {
        return formula(false);
    }

    /** N as a formula. */
    public String matmulParametersFormula() {
        return formula(true);
    }

    private String formula(boolean matmulOnly) {
        Poly outside = Poly.ZERO;
        Poly block = Poly.ZERO;
        for (ParamSpec p : params) {
            boolean mm = p.role() == Role.WEIGHT || p.role() == Role.HEAD;
            if (matmulOnly && !mm) {
                continue;
            }
            if (p.layer() == 0) {
                block = block.plus(p.size());
            } else if (p.layer() < 0) {
                outside = outside.plus(p.size());
            }
        }
        if (matmulOnly && config.tieHead()) {
            outside = outside.plus(Poly.of(1, "V", "C"));
        }
        String head = outside.toString();
        String b = block.isZero() ? "" : "L·(" + block + ")";
        if (outside.isZero()) {
            return b.isEmpty() ? "0" : b;
        }
        // outside terms of degree 2 first (V·C, T·C), the block, then the rest (2C): as P = V·C + T·C + L·(...) + 2C
        StringBuilder sb = new StringBuilder();
        List<String> hi = new ArrayList<>();
        List<String> lo = new ArrayList<>();
        for (String t : head.split(" (?=[+-] )")) {
            String term = t.startsWith("+ ") ? t.substring(2) : t;
            (term.contains("·") || term.contains("²") ? hi : lo).add(term);
        }
        sb.append(String.join(" + ", hi));
        if (!b.isEmpty()) {
            sb.append(sb.length() > 0 ? " + " : "").append(b);
        }
        for (String t : lo) {
            sb.append(" + ").append(t);
        }
        return sb.toString();
    }

    /** One block's parameters as a formula (GPT-2: 12C² + 13C). */
    public String blockParametersFormula() {
        Poly block = Poly.ZERO;
        for (ParamSpec p : params) {
            if (p.layer() == 0) {
                block = block.plus(p.size());
            }
        }
        return block.toString();
    }

    /** One block's linear weights Nb as a formula (GPT-2: 12C²). */
    public String blockFormula() {
        Poly block = Poly.ZERO;
        for (ParamSpec p : params) {
            if (p.layer() == 0 && p.role() == Role.WEIGHT) {
                block = block.plus(p.size());
            }
        }
        return block.toString();
    }

    /** The LoRA rank r of the adapters (0 without). */
    public long rank() {
        for (ParamSpec p : params) {
            if (p.role() == Role.ADAPTER) {
                return p.shape()[0];
            }
        }
        return 0;
    }

    /** The values of the size symbols for this config (for {@link Poly#eval} and printing). */
    public Map<String, Long> symbols() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("V", (long) config.vocab());
        m.put("T", (long) config.context());
        m.put("L", (long) config.layers());
        m.put("C", (long) config.dModel());
        m.put("H", (long) config.mlpHidden());
        m.put("NH", (long) config.heads());
        m.put("KVH", (long) config.kvHeads());
        m.put("HS", (long) config.headSize());
        m.put("r", rank());
        return m;
    }

    /** The symbols this config's formulas use, with their values: {@code V=96 T=128 L=4 C=128}. */
    public String symbolValues() {
        StringBuilder sb = new StringBuilder();
        String all = parametersFormula();
        for (Map.Entry<String, Long> e : symbols().entrySet()) {
            if (all.matches(".*(?<![A-Z])" + e.getKey() + "(?![A-Z]).*")) {
                sb.append(sb.length() == 0 ? "" : " ").append(e.getKey()).append('=').append(e.getValue());
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------------------------------------ names

    /** The checkpoint names of each part, by family. */
    public static final class Names {
        private final GptConfig c;
        private final boolean gpt2;

        public Names(GptConfig c) {
            this.c = c;
            this.gpt2 = c.family() == Family.GPT2;
        }

        private String block(int l) {
            return gpt2 ? "h." + l + "." : "model.layers." + l + ".";
        }

        public String tokenEmbedding() {
            return gpt2 ? "wte.weight" : "model.embed_tokens.weight";
        }

        public String positionEmbedding() {
            return gpt2 ? "wpe.weight" : "model.embed_positions.weight";
        }

        /** The pre-attention norm's gain (the only norm of a parallel block). */
        public String norm1(int l) {
            return block(l) + (gpt2 ? "ln_1.weight" : "input_layernorm.weight");
        }

        public String norm2(int l) {
            return block(l) + (gpt2 ? "ln_2.weight" : "post_attention_layernorm.weight");
        }

        /** The q, k, v projection weights: one fused {@code c_attn} for GPT-2, three for LLaMA. */
        public List<String> qkv(int l) {
            if (gpt2) {
                return List.of(block(l) + "attn.c_attn.weight");
            }
            String a = block(l) + "self_attn.";
            return List.of(a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight");
        }

        public String attnProj(int l) {
            return block(l) + (gpt2 ? "attn.c_proj.weight" : "self_attn.o_proj.weight");
        }

        /** GELU's first layer, or SwiGLU's up projection. */
        public String mlpUp(int l) {
            return block(l) + (gpt2 ? "mlp.c_fc.weight" : "mlp.up_proj.weight");
        }

        /** SwiGLU's gate projection. */
        public String mlpGate(int l) {
            return block(l) + (gpt2 ? "mlp.c_gate.weight" : "mlp.gate_proj.weight");
        }

        public String mlpDown(int l) {
            return block(l) + (gpt2 ? "mlp.c_proj.weight" : "mlp.down_proj.weight");
        }

        public String normF() {
            return gpt2 ? "ln_f.weight" : "model.norm.weight";
        }

        public String head() {
            return "lm_head.weight";
        }

        /** The bias beside {@code weight}, or null when the config has none. */
        public String biasOf(String weight) {
            return c.bias() ? biasName(weight) : null;
        }

        /** A norm's bias, or null (RMSNorm, or no biases). */
        public String normBiasOf(String gain) {
            return c.norm() == Norm.LAYERNORM && c.bias() ? biasName(gain) : null;
        }
    }
}
