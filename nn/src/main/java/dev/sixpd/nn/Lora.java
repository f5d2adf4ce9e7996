package dev.sixpd.nn;

import dev.sixpd.nn.GptConfig.Family;
import dev.sixpd.nn.GptConfig.Mlp;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * LoRA's settings (Hu et al. 2021): each targeted linear layer {@code y = x·Wᵀ} becomes
 * {@code y = x·Wᵀ + (α/r)·(drop(x)·Aᵀ)·Bᵀ}, A {@code [r, in]}, B {@code [out, r]}, with W and every other tensor of the
 * base model frozen. {@link ModelSpec#of(GptConfig, Lora)} adds the adapters' tensors to the spec.
 *
 * <p>Targets name linear layers by their part: {@code q, k, v, o} (LLaMA's separate projections; GPT-2's output
 * projection {@code attn.c_proj} is {@code o} too), {@code qkv} (GPT-2's fused {@code c_attn}), {@code fc, proj}
 * (GPT-2's GELU MLP; {@code up, down} are accepted for them), {@code gate, up, down} (SwiGLU), or {@code all}
 * (every linear layer of the blocks; never the LM head). Defaults as PEFT's for these models: {@code q, v} for the
 * LLaMA family, {@code qkv} ({@code c_attn}) for GPT-2.
 *
 * @param rank    r ≥ 1
 * @param alpha   α; the adapter's output is scaled by α/r
 * @param targets the target parts, as given (lower case)
 * @param dropout dropout probability on the adapter's input, in [0, 1)
 */
public record Lora(int rank, double alpha, List<String> targets, double dropout) {

    /** Every target name {@link #targets} may hold. */
    public static final List<String> NAMES = List.of("q", "k", "v", "o", "qkv", "fc", "proj", "gate", "up", "down",
            "all");

    public Lora {
        if (rank < 1) {
            throw new UserException("--lora-rank must be >= 1, got " + rank);
        }
        if (!(alpha > 0) || !Double.isFinite(alpha)) {
            throw new UserException("--lora-alpha must be a positive number, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new UserException("--lora-dropout must be in [0, 1), got " + dropout);
        }
        List<String> t = new ArrayList<>();
        for (String s : targets) {
            String n = s.trim().toLowerCase(Locale.ROOT);
            if (!NAMES.contains(n)) {
                throw new UserException("unknown LoRA target '" + s + "': use some of " + String.join(",", NAMES));
            }
            t.add(n);
        }
        if (t.isEmpty()) {
            throw new UserException("--lora-targets names no layer: use some of " + String.join(",", NAMES));
        }
        targets = List.copyOf(t);
    }

    /** r, α (2r when null: α/r = 2, a common choice), targets (null: the family's default), dropout. */
    public static Lora of(GptConfig c, int rank, Double alpha, List<String> targets, double dropout) {
        return new Lora(rank, alpha != null ? alpha : 2.0 * rank,
                targets != null && !targets.isEmpty() ? targets : defaultTargets(c), dropout);
    }

    /** PEFT's defaults: {@code q, v} for LLaMA ({@code q_proj, v_proj}), {@code qkv} for GPT-2 ({@code c_attn}). */
    public static List<String> defaultTargets(GptConfig c) {
        return c.family() == Family.GPT2 ? List.of("qkv") : List.of("q", "v");
    }

    /** α/r, the adapter's output scale. */
    public float scale() {
        return (float) (alpha / rank);
    }

    /**
     * The parts of {@code c}'s blocks the targets select, each as {@link ModelSpec#of} names a linear layer
     * ({@code qkv} or {@code q, k, v}, {@code o}, {@code fc, proj} or {@code gate, up, down}); refuses a target this
     * model does not have, naming what it has.
     */
    public Set<String> parts(GptConfig c) {
        boolean fused = c.family() == Family.GPT2;
        boolean swiglu = c.mlp() == Mlp.SWIGLU;
        List<String> has = new ArrayList<>(fused ? List.of("qkv") : List.of("q", "k", "v"));
        has.add("o");
        has.addAll(swiglu ? List.of("gate", "up", "down") : List.of("fc", "proj"));
        Set<String> out = new LinkedHashSet<>();
        for (String t : targets) {
            String p = t;
            if (!swiglu && t.equals("up")) {
                p = "fc";
            } else if (!swiglu && t.equals("down")) {
                p = "proj";
            } else if (swiglu && t.equals("fc")) {
                p = "up";
            } else if (swiglu && t.equals("proj")) {
                p = "down";
            }
            if (p.equals("all")) {
                out.addAll(has);
            } else if (has.contains(p)) {
                out.add(p);
            } else {
                throw new UserException("LoRA target '" + t + "' is not a linear layer of this model (" + c
                        + (fused && List.of("q", "k", "v").contains(t) ? "; GPT-2 fuses q, k and v into one c_attn:"
                        + " use qkv" : "") + "): its layers are " + String.join(",", has) + ", or all");
            }
        }
        return out;
    }
}
