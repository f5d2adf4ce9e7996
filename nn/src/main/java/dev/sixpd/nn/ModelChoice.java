package dev.sixpd.nn;

import java.util.Locale;

/**
 * A model as a user chooses it: a preset and the switches and sizes that override it ({@code 0} or {@code null}:
 * the preset's). {@link #config} applies them once the vocabulary is known. Immutable.
 *
 * @param preset    a name of {@link GptConfig#PRESETS}
 * @param context   T
 * @param layers    L
 * @param dModel    C
 * @param heads     NH
 * @param kvHeads   KVH (a new head count keeps the preset's NH/KVH ratio when it divides)
 * @param mlpHidden H (a new width or MLP kind resets it to the default for that kind)
 * @param norm      null: the preset's
 * @param pos       null: the preset's
 * @param mlp       null: the preset's
 * @param block     null: the preset's
 * @param bias      null: the preset's
 * @param tieHead   null: the preset's
 * @param attention null: the preset's (naive)
 */
public record ModelChoice(String preset, int context, int layers, int dModel, int heads, int kvHeads, int mlpHidden,
                          GptConfig.Norm norm, GptConfig.Pos pos, GptConfig.Mlp mlp, GptConfig.Block block,
                          Boolean bias, Boolean tieHead, GptConfig.Attn attention) {

    public ModelChoice {
        if (preset == null || !GptConfig.PRESETS.containsKey(preset.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("unknown preset '" + preset + "': use one of "
                    + String.join(", ", GptConfig.PRESETS.keySet()));
        }
        preset = preset.toLowerCase(Locale.ROOT);
        for (int v : new int[]{context, layers, dModel, heads, kvHeads, mlpHidden}) {
            if (v < 0) {
                throw new IllegalArgumentException("model sizes must be positive (0: the preset's), got " + v);
            }
        }
    }

    /** The preset as it is. */
    public static ModelChoice preset(String name) {
        return new ModelChoice(name, 0, 0, 0, 0, 0, 0, null, null, null, null, null, null, null);
    }

    /** Exactly {@code c} (every field set), remembering the preset it came from. */
    public static ModelChoice of(String preset, GptConfig c) {
        return new ModelChoice(preset, c.context(), c.layers(), c.dModel(), c.heads(), c.kvHeads(), c.mlpHidden(),
                c.norm(), c.pos(), c.mlp(), c.block(), c.bias(), c.tieHead(), c.attention());
    }

    /** The config with vocabulary {@code vocab}; an impossible combination names the problem. */
    public GptConfig config(int vocab) {
        GptConfig c = GptConfig.preset(preset, vocab).withSizes(context, layers, dModel, heads);
        c = c.withSwitches(norm, pos, mlp, block, bias, tieHead, attention);
        if (kvHeads > 0) {
            c = c.withKvHeads(kvHeads);
        }
        if (mlpHidden > 0) {
            c = c.withMlpHidden(mlpHidden);
        }
        return c;
    }
}
