package dev.sixpd.nn.cli;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelChoice;
import dev.sixpd.nn.UserException;
import picocli.CommandLine.Option;

/**
 * The model's command-line options, shared by {@code train} and {@code precision} (a picocli mixin): a preset and
 * the sizes and switches that override it. Anything left out keeps the preset's value.
 */
public final class ModelOptions {
    @Option(names = "--preset", paramLabel = "NAME", description = "model preset: tiny, small, medium, llama-tiny, "
            + "llama-small (default: small for train and precision)")
    String preset;
    @Option(names = "--context", paramLabel = "T", description = "override the preset's context length")
    Integer context;
    @Option(names = "--layers", paramLabel = "L", description = "override the preset's layer count")
    Integer layers;
    @Option(names = "--d-model", paramLabel = "C", description = "override the preset's width")
    Integer dModel;
    @Option(names = "--heads", paramLabel = "NH", description = "override the preset's head count (must divide C)")
    Integer heads;
    @Option(names = "--kv-heads", paramLabel = "KVH", description = "key/value heads, dividing the heads: grouped-query"
            + " attention (1: multi-query; = heads: multi-head)")
    Integer kvHeads;
    @Option(names = "--norm", paramLabel = "layernorm|rmsnorm", description = "the norm (RMSNorm: x / rms · g, no "
            + "mean, no bias)")
    String norm;
    @Option(names = "--pos", paramLabel = "learned|rope", description = "positions: a learned table, or rotary "
            + "embeddings on q and k (Hugging Face LLaMA's rotate_half, θ 10000)")
    String pos;
    @Option(names = "--mlp", paramLabel = "gelu|swiglu", description = "MLP: proj(gelu(fc(x))), or "
            + "down(silu(gate(x)) ⊙ up(x))")
    String mlp;
    @Option(names = "--mlp-hidden", paramLabel = "H", description = "the MLP's hidden width (default: 4C for gelu, "
            + "8C/3 rounded up to a multiple of 32 for swiglu)")
    Integer mlpHidden;
    @Option(names = "--block", paramLabel = "sequential|parallel", description = "block form: x + attn(n1(x)), then"
            + " + mlp(n2(·)); or parallel x + attn(n(x)) + mlp(n(x)) with one norm (GPT-J, PaLM)")
    String block;
    @Option(names = "--attention", paramLabel = "naive|flash", description = "attention kernel: naive keeps the "
            + "[B, NH, T, T] probabilities for backward; flash keeps one log-sum-exp per row and recomputes the scores"
            + " in backward (O(T) memory; default: naive)")
    String attention;
    @Option(names = "--bias", negatable = true, description = "biases in every linear layer and LayerNorm (default:"
            + " on for GPT-2 presets, off for LLaMA presets)")
    Boolean bias;
    @Option(names = "--tie-head", negatable = true, description = "the LM head shares the token embedding (default:"
            + " tied for GPT-2 presets, untied for LLaMA presets)")
    Boolean tieHead;

    /** The model chosen, with {@code defaultPreset} when --preset is not given. */
    ModelChoice choice(String defaultPreset) {
        positive("--context", context);
        positive("--layers", layers);
        positive("--d-model", dModel);
        positive("--heads", heads);
        positive("--kv-heads", kvHeads);
        positive("--mlp-hidden", mlpHidden);
        try {
            return new ModelChoice(preset != null ? preset : defaultPreset, or(context), or(layers), or(dModel),
                    or(heads), or(kvHeads), or(mlpHidden),
                    norm == null ? null : GptConfig.parse(GptConfig.Norm.class, "--norm", norm),
                    pos == null ? null : GptConfig.parse(GptConfig.Pos.class, "--pos", pos),
                    mlp == null ? null : GptConfig.parse(GptConfig.Mlp.class, "--mlp", mlp),
                    block == null ? null : GptConfig.parse(GptConfig.Block.class, "--block", block), bias, tieHead,
                    attention == null ? null : GptConfig.parse(GptConfig.Attn.class, "--attention", attention));
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
    }

    /** The first option given, or null: a resumed run takes its model from the checkpoint. */
    String anyGiven() {
        Object[][] all = {{"--preset", preset}, {"--context", context}, {"--layers", layers}, {"--d-model", dModel},
                {"--heads", heads}, {"--kv-heads", kvHeads}, {"--norm", norm}, {"--pos", pos}, {"--mlp", mlp},
                {"--mlp-hidden", mlpHidden}, {"--block", block}, {"--bias", bias}, {"--tie-head", tieHead},
                {"--attention", attention}};
        for (Object[] o : all) {
            if (o[1] != null) {
                return (String) o[0];
            }
        }
        return null;
    }

    private static int or(Integer v) {
        return v == null ? 0 : v;
    }

    private static void positive(String option, Integer v) {
        if (v != null && v < 1) {
            throw new UserException(option + " must be positive, got " + v);
        }
    }
}
