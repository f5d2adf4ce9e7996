package dev.sixpd.nn.layers;

import dev.sixpd.nn.ledger.ActivationLayout;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the layers get their buffers, once, when the model is built: activations saved for backward (per layer,
 * or, with per-block recomputation, one set shared by all layers), buffers outside the blocks, and the backward
 * pass's scratch (one array per name for the whole model). It records every buffer's bytes by name, so the memory
 * report ({@link #layout()}) is what the layers really allocated; a <em>dry</em> arena records the same sizes and
 * allocates nothing, to report the memory of shapes that would not fit.
 *
 * <p>Every buffer is a {@code float[]}: 4 bytes per value, also for BF16/FP16 activations (emulated on the FP32
 * grid). Not thread-safe; used only while building a model.
 */
public final class Activations {
    private static final float[] NONE = new float[0];

    private final boolean recompute;
    private final boolean dry;
    private final Map<String, Long> perLayer = new LinkedHashMap<>();
    private final Map<String, Long> shared = new LinkedHashMap<>();
    private final Map<String, Long> outside = new LinkedHashMap<>();
    private final Map<String, Long> workspace = new LinkedHashMap<>();
    private final Map<String, float[]> sharedArrays = new HashMap<>();
    private final Map<String, float[]> scratchArrays = new HashMap<>();
    private int layers;

    /**
     * @param recompute per-block recomputation: {@link #saved} buffers are one array for all layers
     * @param dry       record sizes only; every buffer handed out is empty
     */
    public Activations(boolean recompute, boolean dry) {
        this.recompute = recompute;
        this.dry = dry;
    }

    /**
     * A buffer of block {@code layer} saved for backward: its own per layer, or with recomputation one array
     * shared by every layer (refilled when a block is recomputed).
     */
    public float[] saved(int layer, String name, long n) {
        layers = Math.max(layers, layer + 1);
        if (!recompute) {
            if (layer == 0) {
                perLayer.merge(name, 4 * n, Long::sum);
            }
            return alloc(name, n);
        }
        float[] a = sharedArrays.get(name);
        if (a == null) {
            shared.merge(name, 4 * n, Long::sum);
            a = alloc(name, n);
            sharedArrays.put(name, a);
        }
        return a;
    }

    /** A buffer of block {@code layer} kept per layer even with recomputation (the block outputs it restarts from). */
    public float[] kept(int layer, String name, long n) {
        layers = Math.max(layers, layer + 1);
        if (layer == 0) {
            perLayer.merge(name, 4 * n, Long::sum);
        }
        return alloc(name, n);
    }

    /** A buffer outside the blocks (embedding output, final norm, logits, losses). */
    public float[] outside(String name, long n) {
        outside.merge(name, 4 * n, Long::sum);
        return alloc(name, n);
    }

    /** Backward scratch: one array per name for the whole model, every request of a name the same size. */
    public float[] scratch(String name, long n) {
        float[] a = scratchArrays.get(name);
        if (a != null) {
            if (workspace.get(name) != 4 * n) {
                throw new IllegalStateException("scratch '" + name + "' requested with two sizes");
            }
            return a;
        }
        workspace.put(name, 4 * n);
        a = alloc(name, n);
        scratchArrays.put(name, a);
        return a;
    }

    private float[] alloc(String name, long n) {
        if (dry) {
            return NONE;
        }
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("the activation buffer '" + name + "' would hold " + n
                    + " values, more than a Java array: use a smaller --batch or --context");
        }
        return new float[(int) n];
    }

    /** The bytes recorded so far, by category and name. */
    public ActivationLayout layout() {
        return new ActivationLayout(layers, perLayer, shared, outside, workspace);
    }
}
