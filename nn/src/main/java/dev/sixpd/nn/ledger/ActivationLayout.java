package dev.sixpd.nn.ledger;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The activation buffers a {@code Gpt} allocates, in bytes, by category and name, as its layers requested them from
 * {@code Activations} ({@code Gpt.layout(config, B, recompute)} records them without allocating). Every buffer is a
 * {@code float[]}: 4 bytes per value, also
 * when activations are rounded to BF16/FP16 (sixpd emulates 16-bit storage on the FP32 grid).
 *
 * <p>For GPT-2, without recomputation, with {@code N = B·T} rows (a test checks these against the layout):
 * <pre>
 *   per layer (kept for backward)   ln_1 N·C + mean, rstd 2N, qkv 3N·C, att NH·B·T², att_y N·C,
 *                                   residual after attn N·C, ln_2 N·C + mean, rstd 2N, fc 4N·C, fc_gelu 4N·C,
 *                                   residual after mlp N·C
 *                                   = 16·N·C + 4·N + NH·B·T² floats = 64·s·b·h + 4·a·s²·b + 16·s·b bytes
 *   outside the layers              encoded N·C, ln_f N·C + 2N, logits N·V, probs_dlogits N·V, losses N
 *   backward workspace (shared)     dres, dln, datty N·C each, dqkv 3N·C, datt NH·B·T², dfch, dfch_gelu 4N·C each
 *                                   = 14·N·C + NH·B·T² floats
 * </pre>
 * {@code probs_dlogits} holds the softmax from forward to backward, which turns it into the logits' gradient in
 * place ({@code CrossEntropy.backwardInPlace}): the gradient needs no workspace buffer of its own.
 * Against Korthikanti et al.'s {@code s·b·h·(34 + 5·a·s/h)} at 16 bits, doubled for FP32
 * ({@code 68·s·b·h + 10·a·s²·b}): sixpd has no dropout, which saves the formula's dropout masks and the dropped
 * attention probabilities ({@code 2·(2·s·b·h + 3·a·s²·b)} at FP32), and keeps each LayerNorm's mean and rstd
 * ({@code 16·s·b}), which the formula neglects. Every other term matches one to one.
 *
 * <p>With per-block recomputation each
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
