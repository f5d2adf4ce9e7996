package dev.sixpd.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * The GEMM shapes the benchmarks measure: squares, and the Linear layers of the default {@code medium} model
 * (6 layers, d_model 384, context 256, batch 8, vocabulary 65: B·T = 2048 token rows) forward and backward.
 *
 * <p>A Linear layer {@code in -> out} with weights {@code W[out,in]} runs three GEMMs per step:
 * forward {@code Y[BT,out] = X[BT,in]·Wᵀ} (NT), input gradient {@code dX[BT,in] = dY[BT,out]·W} (NN) and weight
 * gradient {@code dW[out,in] = dYᵀ·X} (TN, K = BT).
 */
public final class GemmShapes {
    /** One GEMM problem: {@code C[m,n] = op(A)[m,k]·op(B)[k,n]}. */
    public record Shape(String name, int m, int n, int k, boolean transA, boolean transB) {
        public double flops() {
            return 2.0 * m * n * k;
        }

        /** The shape as the benchmark parameter string {@code name:m:n:k:ta:tb}. */
        public String param() {
            return name + ":" + m + ":" + n + ":" + k + ":" + (transA ? "T" : "N") + ":" + (transB ? "T" : "N");
        }

        public static Shape parse(String p) {
            String[] f = p.split(":");
            if (f.length != 6) {
                throw new IllegalArgumentException("shape must be name:m:n:k:N|T:N|T, got '" + p + "'");
            }
            return new Shape(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                    f[4].equals("T"), f[5].equals("T"));
        }
    }

    /** Token rows of the default model's batch: B·T = 8·256. */
    public static final int TOKENS = 8 * 256;
    /** The default model's Linear layers {name, in, out}. */
    private static final Object[][] LINEARS = {
        {"qkv", 384, 1152}, {"attn_proj", 384, 384}, {"fc", 384, 1536}, {"mlp_proj", 1536, 384}, {"lm_head", 384, 65}};

    private GemmShapes() {
    }

    public static Shape square(int n) {
        return new Shape("square" + n, n, n, n, false, false);
    }

    /** Forward (NT), dX (NN) and dW (TN) for each Linear of the default model. */
    public static List<Shape> model() {
        List<Shape> s = new ArrayList<>();
        for (Object[] l : LINEARS) {
            String name = (String) l[0];
            int in = (Integer) l[1], out = (Integer) l[2];
            s.add(new Shape(name + ".fwd", TOKENS, out, in, false, true));
            s.add(new Shape(name + ".dx", TOKENS, in, out, false, false));
            s.add(new Shape(name + ".dw", out, in, TOKENS, true, false));
        }
        return s;
    }

    /** A model shape by name (e.g. {@code qkv.fwd}), or an error listing the names. */
    public static Shape byName(String name) {
        List<String> names = new ArrayList<>();
        for (Shape s : model()) {
            if (s.name().equals(name)) {
                return s;
            }
            names.add(s.name());
        }
        throw new IllegalArgumentException("unknown shape '" + name + "'; known: " + String.join(", ", names));
    }
}
