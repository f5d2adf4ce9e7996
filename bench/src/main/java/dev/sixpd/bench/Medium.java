package dev.sixpd.bench;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelSpec;
import dev.sixpd.nn.ParamSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * The shapes of the {@code medium} preset the kernel benchmarks run at — 6 layers, d_model 384, 6 heads of 64,
 * context 256 — with batch 8 and a character vocabulary of 65, read from the preset and its {@link ModelSpec} (the
 * one list of the model's tensors), so a benchmark runs exactly the model's shapes. Stateless constants.
 */
final class Medium {
    /** The medium preset with a 65-character vocabulary. */
    static final GptConfig CONFIG = GptConfig.preset("medium", 65);
    /** Batch. */
    static final int B = 8;
    /** Context length. */
    static final int T = CONFIG.context();
    /** Model width. */
    static final int C = CONFIG.dModel();
    /** Heads. */
    static final int NH = CONFIG.heads();
    /** Head size {@code C / NH}. */
    static final int HS = CONFIG.headSize();
    /** Layers. */
    static final int L = CONFIG.layers();
    /** Vocabulary (characters). */
    static final int V = CONFIG.vocab();
    /** Tokens per batch, the rows of every {@code [B·T, ·]} activation. */
    static final int N = B * T;

    private Medium() {
    }

    /** One tensor of the model: its name and shape. */
    record Shape(String name, int[] dims) {
        int size() {
            int n = 1;
            for (int d : dims) {
                n *= d;
            }
            return n;
        }
    }

    /** Every parameter tensor of the model, in model order (10,770,816 floats in all). */
    static List<Shape> parameterShapes() {
        List<Shape> s = new ArrayList<>();
        for (ParamSpec p : ModelSpec.of(CONFIG).params()) {
            s.add(new Shape(p.name(), p.shape()));
        }
        return s;
    }

    /** Total parameter count. */
    static long parameterCount() {
        return ModelSpec.of(CONFIG).parameters();
    }

    /** Parameters that get weight decay (the linear weight matrices). */
    static long decayedParameterCount() {
        return ModelSpec.of(CONFIG).decayedParameters();
    }
}
