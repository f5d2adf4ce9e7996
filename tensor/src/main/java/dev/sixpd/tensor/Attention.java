package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal multi-head self-attention on a fused QKV activation, GPT-2 / llm.c layout.
 *
 * <p>Shapes: {@code qkv [B, T, 3C]} holds q, k, v side by side ({@code qkv[b,t, 0:C]} = q, {@code C:2C} = k,
 * {@code 2C:3C} = v); head {@code h} of each is the contiguous slice {@code h·hs : (h+1)·hs} with
 * {@code hs = C / NH}. {@code att [B, NH, T, T]} receives the softmax probabilities (saved for backward; the masked
 * upper triangle is written as zeros). {@code out [B, T, C]} receives the heads' outputs side by side.
 * <pre>
 *   att[b,h,t,t2] = softmax_{t2 <= t}( q[b,t,h]·k[b,t2,h] / sqrt(hs) )
 *   out[b,t,h]    = Σ_{t2 <= t} att[b,h,t,t2] · v[b,t2,h]
 * </pre>
 *
 * <p>Causal skipping: the kernels compute only the unmasked pairs {@code t2 <= t}, i.e. {@code T(T+1)/2} per
 * (b, h), and the ledger records exactly that: see {@link #matmulFlopsForward} and {@link #matmulFlopsBackward}
 * (kind {@link Ledger.Kind#ATTENTION_MATMUL}) and {@link #softmaxFlopsForward}/{@link #softmaxFlopsBackward}
 * (kind {@link Ledger.Kind#SOFTMAX}, which includes the 1/sqrt(hs) scaling). The textbook full-context count
 * {@code 4·B·T²·C} forward is, for large T, about twice the {@code 2·B·C·T·(T+1)} executed here.
 *
 * <p>The vector kernels run one task per (b, h) pair; every output element belongs to one (b, h), so results are
 * bit-identical for any thread count. Thread-safe except for the {@link Ledger} accounting.
 */
public final class Attention {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private Attention() {
    }

    /** Unmasked (query, key) pairs over the whole batch: {@code B·NH·T·(T+1)/2}. */
    public static long pairs(int B, int T, int NH) {
        return (long) B * NH * T * (T + 1) / 2;
    }

    /**
     * Matmul FLOPs one forward call records (kind ATTENTION_MATMUL): QKᵀ and A·V over the unmasked pairs only,
     * {@code 2·hs} each per pair: {@code 4·hs·B·NH·T(T+1)/2 = 2·B·C·T·(T+1)}.
     */
    public static long matmulFlopsForward(int B, int T, int C, int NH) {
        return 2L * B * C * T * (T + 1);
    }

    /**
     * Matmul FLOPs one backward call records (kind ATTENTION_MATMUL): dA = dO·Vᵀ, dV += Aᵀ·dO, dQ += dS·K,
     * dK += dSᵀ·Q over the unmasked pairs only, {@code 2·hs} each per pair: {@code 4·B·C·T·(T+1)}, exactly twice
     * the forward.
     */
    public static long matmulFlopsBackward(int B, int T, int C, int NH) {
        return 4L * B * C * T * (T + 1);
    }

    /**
     * Softmax FLOPs one forward call records (kind SOFTMAX): per pair the 1/sqrt(hs) scale (1) and the softmax's
     * max, subtract, exp, sum, normalise (5); per row one reciprocal: {@code 6·pairs + B·NH·T}.
     */
    public static long softmaxFlopsForward(int B, int T, int C, int NH) {
        return 6L * pairs(B, T, NH) + (long) B * NH * T;
    }

    /**
     * Softmax FLOPs one backward call records (kind SOFTMAX): per pair the row dot Σ att·datt (2), att·(datt - s)
     * (2) and the 1/sqrt(hs) scale (1): {@code 5·pairs}.
     */
    public static long softmaxFlopsBackward(int B, int T, int C, int NH) {
        return 5L * pairs(B, T, NH);
    }

    private static int headSize(String what, int B, int T, int C, int NH) {
        if (B < 0 || T < 0 || C < 0 || NH <= 0) {
            throw new IllegalArgumentException("Attention." + what + ": bad sizes B=" + B + " T=" + T + " C=" + C
                    + " NH=" + NH + " (need B, T, C >= 0 and NH >= 1)");
        }
        if (C % NH != 0) {
            throw new IllegalArgumentException("Attention." + what + ": NH=" + NH + " heads do not divide C=" + C
                    + "; choose a head count that divides the model width");
        }
        return C / NH;
    }

    private static void checkLen(String what, String name, float[] a, long need) {
        if (a.length < need) {
            throw new IllegalArgumentException("Attention." + what + ": " + name + " has length " + a.length
                    + " but the shapes need " + need);
        }
    }

    private static void accountForward(int B, int T, int C, int NH) {
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlopsForward(B, T, C, NH), 4L * B * T * 4 * C);
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlopsForward(B, T, C, NH), 4L * B * NH * T * T);
    }

    private static void accountBackward(int B, int T, int C, int NH) {
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlopsBackward(B, T, C, NH), 4L * B * T * (3 * C + C + 6 * C));
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlopsBackward(B, T, C, NH), 4L * B * NH * T * T * 3);
    }

    /**
     * Forward: overwrites {@code out [B, T, C]} and {@code att [B, NH, T, T]} from {@code qkv [B, T, 3C]}. Vector
     * API, one task per (b, h).
     */
    public static void forward(float[] out, float[] att, float[] qkv, int B, int T, int C, int NH) {
        int hs = headSize("forward", B, T, C, NH);
        checkLen("forward", "out", out, (long) B * T * C);
        checkLen("forward", "att", att, (long) B * NH * T * T);
        checkLen("forward", "qkv", qkv, 3L * B * T * C);
        accountForward(B, T, C, NH);
        float scale = (float) (1.0 / Math.sqrt(hs));
        Parallel.forRange(B * NH, 1, (from, to) -> {
            for (int bh = from; bh < to; bh++) {
                forwardHead(out, att, qkv, bh / NH, bh % NH, T, C, NH, hs, scale);
            }
        });
    }

    private static void forwardHead(float[] out, float[] att, float[] qkv, int b, int h, int T, int C, int NH,
            int hs, float scale) {
        int C3 = 3 * C;
        int attBase = (b * NH + h) * T * T;
        for (int t = 0; t < T; t++) {
            int q = (b * T + t) * C3 + h * hs;
            int row = attBase + t * T;
            // scores: att[t, t2] = q·k[t2] · scale, t2 <= t
            for (int t2 = 0; t2 <= t; t2++) {
                int k = (b * T + t2) * C3 + C + h * hs;
                att[row + t2] = Reduce.dotBody(qkv, q, qkv, k, hs) * scale;
            }
            // softmax over the unmasked prefix, zeros after it
            Softmax.rowForward(att, att, row, t + 1, T);
            // out[t] = Σ att[t, t2] · v[t2]
            int o = (b * T + t) * C + h * hs;
            java.util.Arrays.fill(out, o, o + hs, 0f);
            for (int t2 = 0; t2 <= t; t2++) {
                int v = (b * T + t2) * C3 + 2 * C + h * hs;
                axpyBody(out, o, att[row + t2], qkv, v, hs);
            }
        }
    }

    /** {@code y[yo+i] += a·x[xo+i]}, no checks, no accounting. */
    private static void axpyBody(float[] y, int yo, float a, float[] x, int xo, int n) {
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector.fromArray(S, x, xo + i).fma(FloatVector.broadcast(S, a), FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] = Math.fma(a, x[xo + i], y[yo + i]);
        }
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, float[] att, float[] qkv, int B, int T, int C, int NH) {
        int hs = headSize("forwardScalar", B, T, C, NH);
        checkLen("forwardScalar", "out", out, (long) B * T * C);
        checkLen("forwardScalar", "att", att, (long) B * NH * T * T);
        checkLen("forwardScalar", "qkv", qkv, 3L * B * T * C);
        accountForward(B, T, C, NH);
        float scale = (float) (1.0 / Math.sqrt(hs));
        int C3 = 3 * C;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                for (int t = 0; t < T; t++) {
                    int q = (b * T + t) * C3 + h * hs;
                    int row = ((b * NH + h) * T + t) * T;
                    // scores for t2 <= t
                    for (int t2 = 0; t2 <= t; t2++) {
                        int k = (b * T + t2) * C3 + C + h * hs;
                        float s = 0f;
                        for (int i = 0; i < hs; i++) {
                            s += qkv[q + i] * qkv[k + i];
                        }
                        att[row + t2] = s * scale;
                    }
                    // masked softmax
                    Softmax.rowForwardScalar(att, att, row, t + 1, T);
                    // weighted sum of values
                    int o = (b * T + t) * C + h * hs;
                    for (int i = 0; i < hs; i++) {
                        float s = 0f;
                        for (int t2 = 0; t2 <= t; t2++) {
                            s += att[row + t2] * qkv[(b * T + t2) * C3 + 2 * C + h * hs + i];
                        }
                        out[o + i] = s;
                    }
                }
            }
        }
    }

    /**
     * Backward. ACCUMULATES into {@code dqkv [B, T, 3C]}; {@code datt [B, NH, T, T]} is scratch and is overwritten
     * (on return its unmasked entries hold the scaled gradient of the pre-softmax scores; the masked ones are left
     * as they were). {@code att} must be the probabilities saved by {@link #forward}. Vector API, one task per
     * (b, h).
     * <pre>
     *   datt[t,t2] = dout[t]·v[t2]                       dv[t2] += att[t,t2]·dout[t]
     *   dpre[t,t2] = att[t,t2]·(datt[t,t2] - Σ_j att[t,j]·datt[t,j]) / sqrt(hs)
     *   dq[t]     += Σ_t2 dpre[t,t2]·k[t2]               dk[t2] += dpre[t,t2]·q[t]
     * </pre>
     */
    public static void backward(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B, int T,
            int C, int NH) {
        int hs = headSize("backward", B, T, C, NH);
        checkBackward("backward", dqkv, datt, dout, qkv, att, B, T, C, NH);
        accountBackward(B, T, C, NH);
        float scale = (float) (1.0 / Math.sqrt(hs));
        Parallel.forRange(B * NH, 1, (from, to) -> {
            for (int bh = from; bh < to; bh++) {
                backwardHead(dqkv, datt, dout, qkv, att, bh / NH, bh % NH, T, C, NH, hs, scale);
            }
        });
    }

    private static void checkBackward(String what, float[] dqkv, float[] datt, float[] dout, float[] qkv,
            float[] att, int B, int T, int C, int NH) {
        checkLen(what, "dqkv", dqkv, 3L * B * T * C);
        checkLen(what, "qkv", qkv, 3L * B * T * C);
        checkLen(what, "datt", datt, (long) B * NH * T * T);
        checkLen(what, "att", att, (long) B * NH * T * T);
        checkLen(what, "dout", dout, (long) B * T * C);
    }

    private static void backwardHead(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int b,
            int h, int T, int C, int NH, int hs, float scale) {
        int C3 = 3 * C;
        int attBase = (b * NH + h) * T * T;
        for (int t = 0; t < T; t++) {
            int row = attBase + t * T;
            int go = (b * T + t) * C + h * hs;
            int q = (b * T + t) * C3 + h * hs;
            // datt[t,t2] = dout[t]·v[t2];  dv[t2] += att[t,t2]·dout[t]
            for (int t2 = 0; t2 <= t; t2++) {
                int v = (b * T + t2) * C3 + 2 * C + h * hs;
                datt[row + t2] = Reduce.dotBody(dout, go, qkv, v, hs);
                axpyBody(dqkv, v, att[row + t2], dout, go, hs);
            }
            // softmax backward, scaled: dpre = att·(datt - s)·scale
            float s = Reduce.dotBody(att, row, datt, row, t + 1);
            for (int t2 = 0; t2 <= t; t2++) {
                datt[row + t2] = att[row + t2] * (datt[row + t2] - s) * scale;
            }
            // dq[t] += Σ dpre·k[t2];  dk[t2] += dpre·q[t]
            for (int t2 = 0; t2 <= t; t2++) {
                int k = (b * T + t2) * C3 + C + h * hs;
                float d = datt[row + t2];
                axpyBody(dqkv, q, d, qkv, k, hs);
                axpyBody(dqkv, k, d, qkv, q, hs);
            }
        }
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B,
            int T, int C, int NH) {
        int hs = headSize("backwardScalar", B, T, C, NH);
        checkBackward("backwardScalar", dqkv, datt, dout, qkv, att, B, T, C, NH);
        accountBackward(B, T, C, NH);
        float scale = (float) (1.0 / Math.sqrt(hs));
        int C3 = 3 * C;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                for (int t = 0; t < T; t++) {
                    int row = ((b * NH + h) * T + t) * T;
                    int go = (b * T + t) * C + h * hs;
                    int q = (b * T + t) * C3 + h * hs;
                    // through the weighted sum of values
                    for (int t2 = 0; t2 <= t; t2++) {
                        int v = (b * T + t2) * C3 + 2 * C + h * hs;
                        float s = 0f;
                        for (int i = 0; i < hs; i++) {
                            s += dout[go + i] * qkv[v + i];
                            dqkv[v + i] += att[row + t2] * dout[go + i];
                        }
                        datt[row + t2] = s;
                    }
                    // through the softmax and the scale
                    float s = 0f;
                    for (int t2 = 0; t2 <= t; t2++) {
                        s += att[row + t2] * datt[row + t2];
                    }
                    for (int t2 = 0; t2 <= t; t2++) {
                        datt[row + t2] = att[row + t2] * (datt[row + t2] - s) * scale;
                    }
                    // through the scores q·k
                    for (int t2 = 0; t2 <= t; t2++) {
                        int k = (b * T + t2) * C3 + C + h * hs;
                        float d = datt[row + t2];
                        for (int i = 0; i < hs; i++) {
                            dqkv[q + i] += d * qkv[k + i];
                            dqkv[k + i] += d * qkv[q + i];
                        }
                    }
                }
            }
        }
    }
}
