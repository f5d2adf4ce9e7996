package dev.sixpd.nn;

import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Attention;
import dev.sixpd.tensor.CrossEntropy;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Encoder;
import dev.sixpd.tensor.Gelu;
import dev.sixpd.tensor.Half;
import dev.sixpd.tensor.LayerNorm;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;
import dev.sixpd.tensor.Vectors;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GPT-2: token + position embedding, L pre-LayerNorm blocks (causal self-attention with a fused QKV projection,
 * GELU MLP with 4C hidden), a final LayerNorm and an LM head tied to the token embedding.
 *
 * <p><b>Why explicit forward/backward pairs and not a tape.</b> Like llm.c, the model is one forward function and
 * one backward function over activation buffers allocated once, for the largest batch, in the constructor. No graph
 * is recorded, nothing is allocated per step, and every buffer the backward pass needs is a named field, so the
 * memory report ({@link #activationBytes()}) lists exactly what a training step holds, and activation
 * recomputation can re-run one block's forward ({@link #blockForward}) into the same buffers. The price is that
 * the backward pass is written by hand; a finite-difference test checks it against an independent double-precision
 * implementation.
 *
 * <p>Parameters follow GPT-2's names and layouts ({@code wte [V, C]}, {@code h.{i}.attn.c_attn.weight [3C, C]},
 * ...); linear weights are {@code [out, in]} and {@code y = x · Wᵀ + b}. Forward and backward read each
 * {@link Param#working()} copy and accumulate gradients into {@link Param#grad}.
 *
 * <p>Ledger: forward charges its kernels to {@link Ledger.Phase#FORWARD}, backward to
 * {@link Ledger.Phase#BACKWARD} (the phase in force before is restored). Not thread-safe; the kernels themselves
 * use the shared {@code Parallel} pool, and results are bit-identical for a given thread count.
 */
public final class Gpt {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    public final GptConfig config;
    /** The largest batch the activation buffers hold. */
    public final int maxBatch;

    private final int V;
    private final int maxT;
    private final int L;
    private final int C;
    private final int NH;

    // ---- parameters (GPT-2 names) ----
    final Param wte;
    final Param wpe;
    final Param[] ln1w;
    final Param[] ln1b;
    final Param[] qkvw;
    final Param[] qkvb;
    final Param[] attprojw;
    final Param[] attprojb;
    final Param[] ln2w;
    final Param[] ln2b;
    final Param[] fcw;
    final Param[] fcb;
    final Param[] fcprojw;
    final Param[] fcprojb;
    final Param lnfw;
    final Param lnfb;
    private final List<Param> params;

    // ---- activations kept for backward; [B, T, ...] with B = maxBatch, T = context ----
    private final float[] encoded;      // [B, T, C]   token + position embedding, block 0's input
    private final float[][] ln1;        // L × [B, T, C]
    private final float[][] ln1Mean;    // L × [B, T]
    private final float[][] ln1Rstd;    // L × [B, T]
    private final float[][] qkv;        // L × [B, T, 3C]
    private final float[][] att;        // L × [B, NH, T, T]  attention probabilities
    private final float[][] atty;       // L × [B, T, C]   attention output before c_proj
    private final float[][] res2;       // L × [B, T, C]   residual after attention
    private final float[][] ln2;        // L × [B, T, C]
    private final float[][] ln2Mean;    // L × [B, T]
    private final float[][] ln2Rstd;    // L × [B, T]
    private final float[][] fch;        // L × [B, T, 4C]  c_fc output (GELU input)
    private final float[][] fchGelu;    // L × [B, T, 4C]
    private final float[][] res3;       // L × [B, T, C]   residual after the MLP: the block's output
    private final float[] lnf;          // [B, T, C]
    private final float[] lnfMean;      // [B, T]
    private final float[] lnfRstd;      // [B, T]
    private final float[] logits;       // [B, T, V]
    private final float[] probs;        // [B, T, V]
    private final float[] losses;       // [B, T]

    // ---- gradient scratch for backward, shared by all layers (each zeroed before use) ----
    private final float[] dres;         // [B, T, C]   gradient of the residual stream
    private final float[] dln;          // [B, T, C]
    private final float[] dqkv;         // [B, T, 3C]
    private final float[] datt;         // [B, NH, T, T]
    private final float[] datty;        // [B, T, C]
    private final float[] dfch;         // [B, T, 4C]
    private final float[] dfchGelu;     // [B, T, 4C]
    private final float[] dlogits;      // [B, T, V]

    /** Per-block activation recomputation (see the constructor). */
    public final boolean recompute;

    /** Storage dtype of activations: FP32, or BF16/FP16 (values rounded to that grid after each op). */
    private DType activationDtype = DType.FP32;
    /** Accumulator of the weight matmuls (Linear layers, LM head); FP32 by default. */
    private Accumulator accumulator = Accumulator.FP32;

    // the batch of the last forward, for backward
    private int lastB;
    private int lastT;
    private int[] lastTokens;
    private int[] lastTargets;

    /**
     * A model with parameters initialised GPT-2 style from {@code seed}, with buffers for batches of up to
     * {@code maxBatch} sequences of up to {@code config.context()} tokens.
     */
    public Gpt(GptConfig config, int maxBatch, long seed) {
        this(config, maxBatch, seed, false);
    }

    /** As {@link #Gpt(GptConfig, int, long)}, with or without per-block recomputation. */
    public Gpt(GptConfig config, int maxBatch, long seed, boolean recompute) {
        this(config, maxBatch, recompute);
        init(seed);
    }

    /** A model with all parameters zero (to be loaded from a checkpoint). */
    public Gpt(GptConfig config, int maxBatch) {
        this(config, maxBatch, false);
    }

    /**
     * A model with all parameters zero; with {@code recompute}, per-block activation recomputation: each block keeps
     * only its output, one set of the other block buffers is shared by all layers, and backward re-runs each block's
     * forward (charged to {@link Ledger.Phase#RECOMPUTE}) before differentiating it. Gradients are bit-identical to
     * the plain mode; the saved activations shrink by about a factor L, for one more forward pass per step.
     */
    public Gpt(GptConfig config, int maxBatch, boolean recompute) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + maxBatch);
        }
        this.config = config;
        this.maxBatch = maxBatch;
        V = config.vocab();
        maxT = config.context();
        L = config.layers();
        C = config.dModel();
        NH = config.heads();

        List<Param> ps = new ArrayList<>();
        wte = add(ps, "wte", V, C);
        wpe = add(ps, "wpe", maxT, C);
        ln1w = new Param[L];
        ln1b = new Param[L];
        qkvw = new Param[L];
        qkvb = new Param[L];
        attprojw = new Param[L];
        attprojb = new Param[L];
        ln2w = new Param[L];
        ln2b = new Param[L];
        fcw = new Param[L];
        fcb = new Param[L];
        fcprojw = new Param[L];
        fcprojb = new Param[L];
        for (int l = 0; l < L; l++) {
            String h = "h." + l + ".";
            ln1w[l] = add(ps, h + "ln_1.weight", C);
            ln1b[l] = add(ps, h + "ln_1.bias", C);
            qkvw[l] = add(ps, h + "attn.c_attn.weight", 3 * C, C);
            qkvb[l] = add(ps, h + "attn.c_attn.bias", 3 * C);
            attprojw[l] = add(ps, h + "attn.c_proj.weight", C, C);
            attprojb[l] = add(ps, h + "attn.c_proj.bias", C);
            ln2w[l] = add(ps, h + "ln_2.weight", C);
            ln2b[l] = add(ps, h + "ln_2.bias", C);
            fcw[l] = add(ps, h + "mlp.c_fc.weight", 4 * C, C);
            fcb[l] = add(ps, h + "mlp.c_fc.bias", 4 * C);
            fcprojw[l] = add(ps, h + "mlp.c_proj.weight", C, 4 * C);
            fcprojb[l] = add(ps, h + "mlp.c_proj.bias", C);
        }
        lnfw = add(ps, "ln_f.weight", C);
        lnfb = add(ps, "ln_f.bias", C);
        params = Collections.unmodifiableList(ps);

        int BT = Math.multiplyExact(maxBatch, maxT);
        int BTC = Math.multiplyExact(BT, C);
        long attSize = (long) maxBatch * NH * maxT * maxT;
        long logitSize = (long) BT * V;
        if (attSize > Integer.MAX_VALUE - 16 || logitSize > Integer.MAX_VALUE - 16 || 4L * BTC > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("batch " + maxBatch + " × context " + maxT + " is too large for "
                    + config + ": an activation buffer would exceed a Java array; use a smaller batch");
        }
        this.recompute = recompute;
        // with recomputation every layer's entry is the same array (refilled when the block is recomputed)
        int own = recompute ? 1 : L;
        encoded = new float[BTC];
        ln1 = perLayer(own, BTC);
        ln1Mean = perLayer(own, BT);
        ln1Rstd = perLayer(own, BT);
        qkv = perLayer(own, 3 * BTC);
        att = perLayer(own, (int) attSize);
        atty = perLayer(own, BTC);
        res2 = perLayer(own, BTC);
        ln2 = perLayer(own, BTC);
        ln2Mean = perLayer(own, BT);
        ln2Rstd = perLayer(own, BT);
        fch = perLayer(own, 4 * BTC);
        fchGelu = perLayer(own, 4 * BTC);
        res3 = new float[L][BTC];  // block outputs: always one per layer (the recomputation's checkpoints)
        lnf = new float[BTC];
        lnfMean = new float[BT];
        lnfRstd = new float[BT];
        logits = new float[(int) logitSize];
        probs = new float[(int) logitSize];
        losses = new float[BT];

        dres = new float[BTC];
        dln = new float[BTC];
        dqkv = new float[3 * BTC];
        datt = new float[(int) attSize];
        datty = new float[BTC];
        dfch = new float[4 * BTC];
        dfchGelu = new float[4 * BTC];
        dlogits = new float[(int) logitSize];
    }

    /** L entries backed by {@code distinct} arrays of {@code n} floats (1: all entries share one array). */
    private float[][] perLayer(int distinct, int n) {
        float[][] a = new float[L][];
        for (int l = 0; l < L; l++) {
            a[l] = l < distinct ? new float[n] : a[0];
        }
        return a;
    }

    private static Param add(List<Param> ps, String name, int... shape) {
        Param p = new Param(name, shape);
        ps.add(p);
        return p;
    }

    /**
     * GPT-2 initialisation, seeded: every weight matrix and both embeddings normal(0, 0.02), the two residual
     * projections ({@code attn.c_proj}, {@code mlp.c_proj}) normal(0, 0.02/√(2L)) so the residual stream's variance
     * does not grow with depth, biases 0, LayerNorm gains 1. Parameters are drawn in {@link #params()} order from one
     * {@link Rng}.
     */
    public void init(long seed) {
        Rng rng = new Rng(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * L);
        for (Param p : params) {
            String n = p.name;
            if (n.endsWith("ln_1.weight") || n.endsWith("ln_2.weight") || n.equals("ln_f.weight")) {
                Arrays.fill(p.data, 1f);
            } else if (n.endsWith(".bias")) {
                Arrays.fill(p.data, 0f);
            } else if (n.endsWith("c_proj.weight")) {
                rng.fillNormal(p.data, 0, residualStd);
            } else {
                rng.fillNormal(p.data, 0, 0.02);
            }
            p.syncWorking();
        }
    }

    /** All parameters in GPT-2 order: wte, wpe, h.0.*, ..., h.{L-1}.*, ln_f.*. */
    public List<Param> params() {
        return params;
    }

    /** The parameter named {@code name}, or null. */
    public Param param(String name) {
        for (Param p : params) {
            if (p.name.equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** Number of parameter values (the LM head is tied to wte and counted once). */
    public long parameterCount() {
        long n = 0;
        for (Param p : params) {
            n += p.size();
        }
        return n;
    }

    /** Sets the dtype activations are stored in (rounded to after each op); FP32 by default. */
    public void setActivationDtype(DType dtype) {
        activationDtype = dtype;
    }

    /**
     * Sets the accumulator of the weight matmuls (the Linear layers and the LM head, forward and backward; not
     * attention's); {@link Accumulator#FP32} by default.
     */
    public void setAccumulator(Accumulator acc) {
        accumulator = java.util.Objects.requireNonNull(acc, "accumulator");
    }

    public Accumulator accumulator() {
        return accumulator;
    }

    public DType activationDtype() {
        return activationDtype;
    }

    // ------------------------------------------------------------------------------------------------------------
    // forward

    /**
     * Forward pass over {@code tokens [B, T]} (row-major, {@code B ≤ maxBatch}, {@code T ≤ context}). With
     * {@code targets [B, T]}, computes the cross-entropy and returns the mean loss (nats per token) and keeps what
     * {@link #backward} needs; with {@code targets == null}, computes the logits only and returns NaN.
     */
    public double forward(int[] tokens, int[] targets, int B, int T) {
        checkBatch(tokens, targets, B, T);
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.FORWARD);
        try {
            int N = B * T;
            // encode: encoded[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]
            Encoder.forward(encoded, tokens, wte.working(), wpe.working(), B, T, C);
            act(encoded, N * C);
            for (int l = 0; l < L; l++) {
                blockForward(l, B, T);
            }
            // final LayerNorm, then logits = lnf · wteᵀ (the LM head is the token embedding)
            LayerNorm.forward(lnf, lnfMean, lnfRstd, res3[L - 1], lnfw.working(), lnfb.working(), N, C);
            act(lnf, N * C);
            accumulator.gemm(false, true, N, V, C, 1f, lnf, 0, C, wte.working(), 0, C, 0f, logits, 0, V);
            act(logits, N * V);
            lastB = B;
            lastT = T;
            lastTokens = tokens;
            lastTargets = targets;
            if (targets == null) {
                return Double.NaN;
            }
            return CrossEntropy.forward(losses, probs, logits, targets, N, V);
        } finally {
            Ledger.setPhase(old);
        }
    }

    /**
     * Block {@code l}'s forward over the first {@code B·T} rows: reads its input ({@link #encoded} for block 0, else
     * block l-1's output) and writes every activation the block keeps, ending with its output {@code res3[l]}.
     * <pre>
     *   x   = input
     *   res2 = x + c_proj(attention(c_attn(ln_1(x))))
     *   res3 = res2 + mlp.c_proj(gelu(c_fc(ln_2(res2))))
     * </pre>
     */
    void blockForward(int l, int B, int T) {
        int N = B * T;
        float[] x = blockInput(l);
        // attention sub-block
        LayerNorm.forward(ln1[l], ln1Mean[l], ln1Rstd[l], x, ln1w[l].working(), ln1b[l].working(), N, C);
        act(ln1[l], N * C);
        Linear.forward(accumulator, qkv[l], ln1[l], qkvw[l].working(), qkvb[l].working(), N, C, 3 * C);
        act(qkv[l], 3 * N * C);
        Attention.forward(atty[l], att[l], qkv[l], B, T, C, NH);
        act(atty[l], N * C);
        act(att[l], B * NH * T * T);
        Linear.forward(accumulator, res2[l], atty[l], attprojw[l].working(), attprojb[l].working(), N, C, C);
        addInPlace(res2[l], x, N * C);  // res2 = x + attn
        act(res2[l], N * C);
        // MLP sub-block
        LayerNorm.forward(ln2[l], ln2Mean[l], ln2Rstd[l], res2[l], ln2w[l].working(), ln2b[l].working(), N, C);
        act(ln2[l], N * C);
        Linear.forward(accumulator, fch[l], ln2[l], fcw[l].working(), fcb[l].working(), N, C, 4 * C);
        act(fch[l], 4 * N * C);
        Gelu.forward(fchGelu[l], fch[l], 4 * N * C);
        act(fchGelu[l], 4 * N * C);
        Linear.forward(accumulator, res3[l], fchGelu[l], fcprojw[l].working(), fcprojb[l].working(), N, 4 * C, C);
        addInPlace(res3[l], res2[l], N * C);  // res3 = res2 + mlp
        act(res3[l], N * C);
    }

    private float[] blockInput(int l) {
        return l == 0 ? encoded : res3[l - 1];
    }

    // ------------------------------------------------------------------------------------------------------------
    // backward

    /**
     * Backward pass of the last {@link #forward} (which must have had targets): ACCUMULATES into every
     * {@link Param#grad} the gradient of {@code lossScale × mean loss}. Use {@code lossScale = 1/k} to average
     * {@code k} micro-batches, times any loss-scaling factor.
     */
    public void backward(float lossScale) {
        if (lastTargets == null) {
            throw new IllegalStateException("backward needs a forward with targets first");
        }
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.BACKWARD);
        try {
            int B = lastB;
            int T = lastT;
            int N = B * T;
            // dlogits = (probs - onehot(targets)) · lossScale / N
            Arrays.fill(dlogits, 0, N * V, 0f);
            CrossEntropy.backward(dlogits, probs, lastTargets, lossScale / N, N, V);
            act(dlogits, N * V);
            // LM head: dlnf = dlogits · wte (NN), dwte += dlogitsᵀ · lnf (TN)
            accumulator.gemm(false, false, N, C, V, 1f, dlogits, 0, V, wte.working(), 0, C, 0f, dln, 0, C);
            accumulator.gemm(true, false, V, C, N, 1f, dlogits, 0, V, lnf, 0, C, 1f, wte.grad, 0, C);
            act(dln, N * C);
            // final LayerNorm: dres = d(last block's output)
            Arrays.fill(dres, 0, N * C, 0f);
            LayerNorm.backward(dres, lnfw.grad, lnfb.grad, dln, res3[L - 1], lnfw.working(), lnfMean, lnfRstd, N, C);
            act(dres, N * C);
            for (int l = L - 1; l >= 0; l--) {
                if (recompute) {
                    // refill block l's buffers from its kept input (bit-identical to the first forward)
                    Ledger.setPhase(Ledger.Phase.RECOMPUTE);
                    blockForward(l, B, T);
                    Ledger.setPhase(Ledger.Phase.BACKWARD);
                }
                blockBackward(l, B, T);
            }
            // embeddings: dwte[tokens[b,t]] += dres[b,t], dwpe[t] += dres[b,t]
            Encoder.backward(wte.grad, wpe.grad, dres, lastTokens, B, T, C);
        } finally {
            Ledger.setPhase(old);
        }
    }

    /**
     * Block {@code l}'s backward. On entry {@link #dres} holds the gradient of the block's output {@code res3[l]};
     * on exit, of its input. A residual passes its gradient through unchanged, so each sub-block's input gradient
     * is accumulated (+=) straight into {@code dres}.
     */
    void blockBackward(int l, int B, int T) {
        int N = B * T;
        float[] x = blockInput(l);
        // MLP: res3 = res2 + c_proj(gelu(c_fc(ln_2(res2))))
        Arrays.fill(dfchGelu, 0, 4 * N * C, 0f);
        Linear.backward(accumulator, dfchGelu, fcprojw[l].grad, fcprojb[l].grad, dres, fchGelu[l], fcprojw[l].working(),
                N, 4 * C, C);
        act(dfchGelu, 4 * N * C);
        Arrays.fill(dfch, 0, 4 * N * C, 0f);
        Gelu.backward(dfch, fch[l], dfchGelu, 4 * N * C);
        act(dfch, 4 * N * C);
        Arrays.fill(dln, 0, N * C, 0f);
        Linear.backward(accumulator, dln, fcw[l].grad, fcb[l].grad, dfch, ln2[l], fcw[l].working(), N, C, 4 * C);
        act(dln, N * C);
        // dres += d ln_2 input: now the gradient of res2
        LayerNorm.backward(dres, ln2w[l].grad, ln2b[l].grad, dln, res2[l], ln2w[l].working(), ln2Mean[l],
                ln2Rstd[l], N, C);
        act(dres, N * C);
        // attention: res2 = x + c_proj(attention(c_attn(ln_1(x))))
        Arrays.fill(datty, 0, N * C, 0f);
        Linear.backward(accumulator, datty, attprojw[l].grad, attprojb[l].grad, dres, atty[l], attprojw[l].working(),
                N, C, C);
        act(datty, N * C);
        Arrays.fill(dqkv, 0, 3 * N * C, 0f);
        Arrays.fill(datt, 0, B * NH * T * T, 0f);
        Attention.backward(dqkv, datt, datty, qkv[l], att[l], B, T, C, NH);
        act(dqkv, 3 * N * C);
        Arrays.fill(dln, 0, N * C, 0f);
        Linear.backward(accumulator, dln, qkvw[l].grad, qkvb[l].grad, dqkv, ln1[l], qkvw[l].working(), N, C, 3 * C);
        act(dln, N * C);
        // dres += d ln_1 input: now the gradient of x
        LayerNorm.backward(dres, ln1w[l].grad, ln1b[l].grad, dln, x, ln1w[l].working(), ln1Mean[l], ln1Rstd[l],
                N, C);
        act(dres, N * C);
    }

    // ------------------------------------------------------------------------------------------------------------
    // results and accounting

    /** Logits {@code [B, T, V]} of the last forward (row {@code b·T + t} for the B, T passed). Do not modify. */
    public float[] logits() {
        return logits;
    }

    /** Per-token losses {@code [B, T]} of the last forward with targets. */
    public float[] losses() {
        return losses;
    }

    /**
     * Bytes of every buffer the model allocates besides parameters, by name, FP32 ({@code 4} bytes per value):
     * activations kept for backward (per layer, summed over layers; with recomputation the shared block buffers
     * once) and the gradient scratch shared by all layers ({@code "backward scratch"}).
     */
    public Map<String, Long> activationBytes() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("encoded", bytes(encoded));
        m.put("ln_1 (+mean, rstd)", bytes(ln1) + bytes(ln1Mean) + bytes(ln1Rstd));
        m.put("qkv", bytes(qkv));
        m.put("att (probabilities)", bytes(att));
        m.put("att_y", bytes(atty));
        m.put("residual after attn", bytes(res2));
        m.put("ln_2 (+mean, rstd)", bytes(ln2) + bytes(ln2Mean) + bytes(ln2Rstd));
        m.put("fc (GELU input)", bytes(fch));
        m.put("fc_gelu", bytes(fchGelu));
        m.put("residual after mlp", bytes(res3));
        m.put("ln_f (+mean, rstd)", bytes(lnf) + bytes(lnfMean) + bytes(lnfRstd));
        m.put("logits", bytes(logits));
        m.put("probs", bytes(probs));
        m.put("losses", bytes(losses));
        m.put("backward scratch", bytes(dres) + bytes(dln) + bytes(dqkv) + bytes(datt) + bytes(datty)
                + bytes(dfch) + bytes(dfchGelu) + bytes(dlogits));
        return m;
    }

    private static long bytes(float[] a) {
        return 4L * a.length;
    }

    /** Bytes of the distinct arrays in {@code a} (shared entries counted once). */
    private static long bytes(float[][] a) {
        long s = 0;
        java.util.Set<float[]> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (float[] x : a) {
            if (seen.add(x)) {
                s += bytes(x);
            }
        }
        return s;
    }

    // ------------------------------------------------------------------------------------------------------------
    // helpers

    private void checkBatch(int[] tokens, int[] targets, int B, int T) {
        if (B < 1 || B > maxBatch) {
            throw new IllegalArgumentException("batch " + B + " outside [1, " + maxBatch + "] (the model's buffers"
                    + " were allocated for " + maxBatch + ")");
        }
        if (T < 1 || T > maxT) {
            throw new IllegalArgumentException("sequence length " + T + " outside [1, " + maxT + "] (context)");
        }
        int N = B * T;
        if (tokens.length < N || (targets != null && targets.length < N)) {
            throw new IllegalArgumentException("need " + N + " tokens and targets for B=" + B + ", T=" + T
                    + ", got " + tokens.length + (targets == null ? "" : " and " + targets.length));
        }
        for (int i = 0; i < N; i++) {
            if (tokens[i] < 0 || tokens[i] >= V) {
                throw new IllegalArgumentException("token " + tokens[i] + " at position " + i
                        + " is outside the vocabulary [0, " + V + ")");
            }
        }
    }

    /** a[i] += b[i] for i < n (a residual connection). */
    private static void addInPlace(float[] a, float[] b, int n) {
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 12L * n);
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector.fromArray(S, a, i).add(FloatVector.fromArray(S, b, i)).intoArray(a, i);
        }
        for (; i < n; i++) {
            a[i] += b[i];
        }
    }

    /**
     * Stores {@code a[0..n)} in the activation dtype: nothing for FP32; for BF16/FP16 rounds each value to that
     * grid (nearest, ties to even), as a 16-bit activation buffer would hold it.
     */
    private void act(float[] a, int n) {
        if (activationDtype != DType.FP32) {
            Half.roundTo(activationDtype, a, 0, n, false);
        }
    }
}
