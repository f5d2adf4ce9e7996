package dev.sixpd.nn.ledger;

import dev.sixpd.nn.GptConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The activation buffers sixpd's llm.c-style {@code Gpt} allocates, in bytes, computed from the shapes alone (so a
 * report can state the formula beside the measurement). Every buffer is a {@code float[]}: 4 bytes per value, also
 * when activations are rounded to BF16/FP16 (sixpd emulates 16-bit storage on the FP32 grid).
 *
 * <p>Without recomputation ({@link #sixpd}), mirroring {@code Gpt}'s constructor, with {@code N = B·T} rows:
 * <pre>
 *   per layer (kept for backward)   ln_1 N·C + mean, rstd 2N, qkv 3N·C, att NH·B·T², att_y N·C,
 *                                   residual after attn N·C, ln_2 N·C + mean, rstd 2N, fc 4N·C, fc_gelu 4N·C,
 *                                   residual after mlp N·C
 *                                   = 16·N·C + 4·N + NH·B·T² floats = 64·s·b·h + 4·a·s²·b + 16·s·b bytes
 *   outside the layers              encoded N·C, ln_f N·C + 2N, logits N·V, probs N·V, losses N
 *   backward workspace (shared)     dres, dln, datty N·C each, dqkv 3N·C, datt NH·B·T², dfch, dfch_gelu 4N·C each,
 *                                   dlogits N·V = 14·N·C + NH·B·T² + N·V floats
 * </pre>
 * Against Korthikanti et al.'s {@code s·b·h·(34 + 5·a·s/h)} at 16 bits, doubled for FP32
 * ({@code 68·s·b·h + 10·a·s²·b}): sixpd has no dropout, which saves the formula's dropout masks and the dropped
 * attention probabilities ({@code 2·(2·s·b·h + 3·a·s²·b)} at FP32), and keeps each LayerNorm's mean and rstd
 * ({@code 16·s·b}), which the formula neglects. Every other term matches one to one.
 *
 * <p>With per-block recomputation ({@link #sixpdRecompute}; the layout the recompute mode should allocate): each
 * layer keeps only its output (the next block's input, {@code N·C} floats = {@code 4·s·b·h} bytes, Korthikanti's
 * {@code 2·s·b·h} at 16 bits doubled), and one layer's other buffers are shared by all layers and refilled when a
 * block is recomputed.
 *
 * @param layers    L
 * @param perLayer  bytes of each buffer every layer has its own copy of, for ONE layer
 * @param shared    bytes of per-layer buffers allocated once and reused by every layer (recomputation)
 * @param outside   bytes of buffers outside the blocks (embedding output, final LayerNorm, logits, loss)
 * @param workspace bytes of the backward pass's gradient scratch, shared by all layers
 */
public record ActivationLayout(int layers, Map<String, Long> perLayer, Map<String, Long> shared,
                               Map<String, Long> outside, Map<String, Long> workspace) {

    public ActivationLayout {
        perLayer = Collections.unmodifiableMap(new LinkedHashMap<>(perLayer));
        shared = Collections.unmodifiableMap(new LinkedHashMap<>(shared));
        outside = Collections.unmodifiableMap(new LinkedHashMap<>(outside));
        workspace = Collections.unmodifiableMap(new LinkedHashMap<>(workspace));
    }

    /** The buffers {@code new Gpt(config, B)} allocates (it sizes them for {@code T = config.context()}). */
    public static ActivationLayout sixpd(GptConfig config, int B, int T) {
        return new ActivationLayout(config.layers(), layer(config, B, T, true), Map.of(), outside(config, B, T),
                workspace(config, B, T));
    }

    /**
     * The buffers a per-block recomputation mode needs: per layer only the block output (input of the next), one
     * shared set of every other layer buffer, the same outside buffers and workspace.
     */
    public static ActivationLayout sixpdRecompute(GptConfig config, int B, int T) {
        long btc = 4L * B * T * config.dModel();
        return new ActivationLayout(config.layers(), Map.of("residual after mlp (block output)", btc),
                layer(config, B, T, false), outside(config, B, T), workspace(config, B, T));
    }

    private static Map<String, Long> layer(GptConfig config, int B, int T, boolean withOutput) {
        long n = (long) B * T;
        long c = config.dModel();
        long att = (long) B * config.heads() * T * T;
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("ln_1 (+mean, rstd)", 4 * (n * c + 2 * n));
        m.put("qkv", 4 * 3 * n * c);
        m.put("att (probabilities)", 4 * att);
        m.put("att_y", 4 * n * c);
        m.put("residual after attn", 4 * n * c);
        m.put("ln_2 (+mean, rstd)", 4 * (n * c + 2 * n));
        m.put("fc (GELU input)", 4 * 4 * n * c);
        m.put("fc_gelu", 4 * 4 * n * c);
        if (withOutput) {
            m.put("residual after mlp", 4 * n * c);
        }
        return m;
    }

    private static Map<String, Long> outside(GptConfig config, int B, int T) {
        long n = (long) B * T;
        long c = config.dModel();
        long v = config.vocab();
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("encoded", 4 * n * c);
        m.put("ln_f (+mean, rstd)", 4 * (n * c + 2 * n));
        m.put("logits", 4 * n * v);
        m.put("probs", 4 * n * v);
        m.put("losses", 4 * n);
        return m;
    }

    private static Map<String, Long> workspace(GptConfig config, int B, int T) {
        long n = (long) B * T;
        long c = config.dModel();
        long att = (long) B * config.heads() * T * T;
        long v = config.vocab();
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("backward scratch", 4 * (14 * n * c + att + n * v));
        return m;
    }

    /** Bytes of one layer's own buffers. */
    public long perLayerBytes() {
        return sum(perLayer);
    }

    /** Bytes of the shared per-layer buffers (0 without recomputation). */
    public long sharedBytes() {
        return sum(shared);
    }

    /** Bytes outside the blocks. */
    public long outsideBytes() {
        return sum(outside);
    }

    /** Activations kept for backward at the peak: {@code L × per layer + shared + outside}. */
    public long savedForBackwardBytes() {
        return layers * perLayerBytes() + sharedBytes() + outsideBytes();
    }

    /** The backward pass's scratch. */
    public long workspaceBytes() {
        return sum(workspace);
    }

    private static long sum(Map<String, Long> m) {
        long s = 0;
        for (long v : m.values()) {
            s += v;
        }
        return s;
    }
}
