package dev.sixpd.nn.plan;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.GptConfig.Attn;
import dev.sixpd.nn.GptConfig.Block;
import dev.sixpd.nn.GptConfig.Family;
import dev.sixpd.nn.GptConfig.Mlp;
import dev.sixpd.nn.GptConfig.Norm;
import dev.sixpd.nn.GptConfig.Pos;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The planner's architecture options, collected while {@link PlanArgs} reads the command line and turned into one
 * {@link PlanInput.Arch} (a {@link GptConfig}) at the end: sizes {@code --layers --hidden --heads --vocab --seq}, and
 * the switches of the trainer's model, {@code --family gpt2|llama --kv-heads --mlp gelu|swiglu --mlp-hidden
 * --norm layernorm|rmsnorm --pos learned|rope --block sequential|parallel --[no-]bias --[no-]tie-head
 * --attention naive|flash}. {@code --family llama} starts from LLaMA's parts (RMSNorm, RoPE, SwiGLU of
 * {@link PlanInput.Arch#llamaMlpHidden}, no biases, untied head); each switch given then overrides. Mutable; local
 * to one parse.
 */
final class ArchArgs {
    private Integer layers;
    private Integer hidden;
    private Integer heads;
    private Integer vocab;
    private Integer seq;
    private Integer kvHeads;
    private Integer mlpHidden;
    private Family family;
    private Mlp mlp;
    private Norm norm;
    private Pos pos;
    private Block block;
    private Boolean bias;
    private Boolean tieHead;
    private Attn attention;
    /** The switches given, to name them if the sizes are missing. */
    private final List<String> switches = new ArrayList<>();

    /** Takes a flag without a value ({@code --bias}, {@code --no-tie-head}); false if it is not one of ours. */
    boolean flag(String opt) {
        switch (opt) {
            case "--bias" -> bias = true;
            case "--no-bias" -> bias = false;
            case "--tie-head" -> tieHead = true;
            case "--no-tie-head" -> tieHead = false;
            default -> {
                return false;
            }
        }
        switches.add(opt);
        return true;
    }

    /** Takes an option with its value; false if it is not one of ours. */
    boolean option(String opt, String val) {
        switch (opt) {
            case "--layers" -> layers = Sizes.parseInt(opt, val);
            case "--hidden" -> hidden = Sizes.parseInt(opt, val);
            case "--heads" -> heads = Sizes.parseInt(opt, val);
            case "--vocab" -> vocab = Sizes.parseInt(opt, val);
            case "--seq" -> seq = Sizes.parseInt(opt, val);
            case "--kv-heads" -> kvHeads = Sizes.parseInt(opt, val);
            case "--mlp-hidden" -> mlpHidden = Sizes.parseInt(opt, val);
            case "--family" -> family = choice(opt, val, Family.class);
            case "--mlp" -> mlp = choice(opt, val, Mlp.class);
            case "--norm" -> norm = choice(opt, val, Norm.class);
            case "--pos" -> pos = choice(opt, val, Pos.class);
            case "--block" -> block = choice(opt, val, Block.class);
            case "--attention" -> attention = choice(opt, val, Attn.class);
            default -> {
                return false;
            }
        }
        if (!List.of("--layers", "--hidden", "--heads", "--vocab", "--seq").contains(opt)) {
            switches.add(opt);
        }
        return true;
    }

    /** The architecture, or null when no architecture option was given. */
    PlanInput.Arch build() {
        boolean anySize = layers != null || hidden != null || heads != null || vocab != null || seq != null;
        if (!anySize && switches.isEmpty()) {
            return null;
        }
        if (layers == null || hidden == null || heads == null || vocab == null || seq == null) {
            throw new IllegalArgumentException((switches.isEmpty() ? "" : String.join(", ", switches)
                    + " describe the architecture: ") + "an architecture needs all of --layers, --hidden, --heads,"
                    + " --vocab and --seq (missing: " + missing() + ")");
        }
        PlanInput.Arch.checkSizes(layers, hidden, heads, vocab, seq);
        try {
            GptConfig c = family == Family.LLAMA ? GptConfig.llama(vocab, seq, layers, hidden, heads, heads)
                    : GptConfig.gpt2(vocab, seq, layers, hidden, heads);
            if (kvHeads != null) {
                c = c.withKvHeads(kvHeads);
            }
            c = c.withSwitches(norm, pos, mlp, block, bias, tieHead, attention);
            if (mlpHidden != null) {
                c = c.withMlpHidden(mlpHidden);
            } else if (family == Family.LLAMA && c.mlp() == Mlp.SWIGLU) {
                c = c.withMlpHidden(PlanInput.Arch.llamaMlpHidden(hidden));
            }
            return new PlanInput.Arch(c);
        } catch (IllegalArgumentException e) {
            // GptConfig speaks the trainer's option names
            throw new IllegalArgumentException(e.getMessage().replace("--d-model", "--hidden")
                    .replace("d_model", "hidden"), e);
        }
    }

    private String missing() {
        StringBuilder sb = new StringBuilder();
        String[] n = {"--layers", "--hidden", "--heads", "--vocab", "--seq"};
        Integer[] v = {layers, hidden, heads, vocab, seq};
        for (int i = 0; i < n.length; i++) {
            if (v[i] == null) {
                sb.append(sb.isEmpty() ? "" : ", ").append(n[i]);
            }
        }
        return sb.toString();
    }

    /** An enum constant by its lower-case name: {@code --mlp swiglu}. */
    private static <E extends Enum<E>> E choice(String opt, String val, Class<E> type) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(val.strip()) || e.name().replace("2", "-2").equalsIgnoreCase(val.strip())) {
                return e;
            }
        }
        throw new IllegalArgumentException(opt + " must be one of " + String.join(", ",
                Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).toList())
                + ", got '" + val + "'");
    }
}
