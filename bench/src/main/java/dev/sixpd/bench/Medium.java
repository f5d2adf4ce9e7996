package dev.sixpd.bench;

import dev.sixpd.optim.Param;
import java.util.ArrayList;
import java.util.List;

/**
 * The shapes of the {@code medium} preset the kernel benchmarks run at: 6 layers, d_model 384, 6 heads of 64,
 * context 256, batch 8, character vocabulary of 65; GPT-2 / llm.c layout (Linear weights {@code [out, in]}, the
 * LM head tied to {@code wte}). Stateless constants.
 */
final class Medium {
    /** Batch. */
    static final int B = 8;
    /** Context length. */
    static final int T = 256;
    /** Model width. */
    static final int C = 384;
    /** Heads. */
    static final int NH = 6;
    /** Head size {@code C / NH}. */
    static final int HS = C / NH;
    /** Layers. */
    static final int L = 6;
    /** Vocabulary (characters). */
    static final int V = 65;
    /** Tokens per batch, the rows of every {@code [B·T, ·]} activation. */
    static final int N = B * T;

    private Medium() {
    }

    /** One tensor of the model: its GPT-2 name and shape. */
    record Shape(String name, int[] dims) {
        int size() {
            int n = 1;
            for (int d : dims) {
                n *= d;
            }
            return n;
        }
    }

    /** Every parameter tensor of the model, in GPT-2 order (10,770,816 floats in all). */
    static List<Shape> parameterShapes() {
        List<Shape> s = new ArrayList<>();
        s.add(new Shape("wte.weight", new int[] {V, C}));
        s.add(new Shape("wpe.weight", new int[] {T, C}));
        for (int l = 0; l < L; l++) {
            String h = "h." + l + ".";
            s.add(new Shape(h + "ln_1.weight", new int[] {C}));
            s.add(new Shape(h + "ln_1.bias", new int[] {C}));
            s.add(new Shape(h + "attn.c_attn.weight", new int[] {3 * C, C}));
            s.add(new Shape(h + "attn.c_attn.bias", new int[] {3 * C}));
            s.add(new Shape(h + "attn.c_proj.weight", new int[] {C, C}));
            s.add(new Shape(h + "attn.c_proj.bias", new int[] {C}));
            s.add(new Shape(h + "ln_2.weight", new int[] {C}));
            s.add(new Shape(h + "ln_2.bias", new int[] {C}));
            s.add(new Shape(h + "mlp.c_fc.weight", new int[] {4 * C, C}));
            s.add(new Shape(h + "mlp.c_fc.bias", new int[] {4 * C}));
            s.add(new Shape(h + "mlp.c_proj.weight", new int[] {C, 4 * C}));
            s.add(new Shape(h + "mlp.c_proj.bias", new int[] {C}));
        }
        s.add(new Shape("ln_f.weight", new int[] {C}));
        s.add(new Shape("ln_f.bias", new int[] {C}));
        return s;
    }

    /** Total parameter count. */
    static long parameterCount() {
        long n = 0;
        for (Shape s : parameterShapes()) {
            n += s.size();
        }
        return n;
    }

    /** Parameters that get weight decay by {@link Param#defaultDecay} (the Linear weight matrices). */
    static long decayedParameterCount() {
        long n = 0;
        for (Shape s : parameterShapes()) {
            if (Param.defaultDecay(s.name(), s.dims())) {
                n += s.size();
            }
        }
        return n;
    }
}
