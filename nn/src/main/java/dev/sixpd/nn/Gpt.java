package dev.sixpd.nn;

import dev.sixpd.nn.ParamSpec.Init;
import dev.sixpd.nn.layers.Activations;
import dev.sixpd.nn.layers.Block;
import dev.sixpd.nn.layers.Embedding;
import dev.sixpd.nn.layers.GeluMlp;
import dev.sixpd.nn.layers.Linear;
import dev.sixpd.nn.layers.LmHead;
import dev.sixpd.nn.layers.LoraAdapter;
import dev.sixpd.nn.layers.Mlp;
import dev.sixpd.nn.layers.Norm;
import dev.sixpd.nn.layers.SelfAttention;
import dev.sixpd.nn.layers.StepContext;
import dev.sixpd.nn.layers.SwiGluMlp;
import dev.sixpd.nn.ledger.ActivationLayout;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.CrossEntropy;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;
import dev.sixpd.tensor.Rope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A decoder-only transformer — GPT-2, or LLaMA's parts as switches ({@link GptConfig}) — as llm.c writes one: an
 * embedding, L {@link Block}s, a final norm, an LM head and the cross-entropy, each a layer with its forward above
 * its backward (package {@code dev.sixpd.nn.layers}), over buffers allocated once, for the largest batch, when the
 * model is built. No tape: {@link #forward} calls the layers in order and {@link #backward} calls them in reverse.
 *
 * <p>The tensors come from {@link ModelSpec}, the one list of names and shapes; the buffers from
 * {@link Activations}, which records their sizes, so {@link #layout()} reports what the model really holds. With
 * per-block recomputation each block keeps only its output; the other block buffers are shared by all layers, and
 * backward re-runs each block's forward (charged to {@link Ledger.Phase#RECOMPUTE}) before differentiating it:
 * gradients bit-identical to the plain mode, activations about L times smaller, one more forward per step.
 *
 * <p>Numerics are passed in: a {@link StepContext} says which dtype activations are stored in and how the weight
 * matmuls accumulate; forward and backward read each {@link Param#working()} copy and accumulate gradients into
 * {@link Param#grad}. A {@link LayerHook} may run around each layer (ZeRO-2/3: gathering a layer's weights, handing
 * its finished gradient to the reduce-scatter); none by default. Ledger: forward charges {@link Ledger.Phase#FORWARD}, backward {@link Ledger.Phase#BACKWARD}.
 * <p>Generation: {@link #decode} runs one token at one position against a {@link KvCache} (or a sequence of a
 * {@link PagedKvCache}), {@link #decodeBatch} the newest tokens of several paged sequences at once; both use the
 * first rows of the same buffers and the layers' {@code decode} methods (see {@link CachedGenerator}).
 *
 * <p>Not thread-safe; the kernels use the shared {@code Parallel} pool, bit-identical for a given thread count.
 */
public final class Gpt {
    public final GptConfig config;
    /** The largest batch the activation buffers hold. */
    public final int maxBatch;
    /** Per-block activation recomputation. */
    public final boolean recompute;

    private final ModelSpec spec;
    /** LoRA's settings, null without adapters. */
    private final Lora lora;
    /** The dropout seed of the next forwards ({@link LoraAdapter#NO_DROPOUT}: no dropout). */
    private long dropoutSeed = LoraAdapter.NO_DROPOUT;
    private int adapters;
    private final List<Param> params;
    private final Activations acts;

    // ---- layers ----
    private final Embedding embedding;
    private final Block[] blocks;
    private final Norm normF;
    private final LmHead head;

    // ---- buffers outside the blocks; [B, T, ...] with B = maxBatch, T = context ----
    private final float[] encoded;   // [B, T, C]  embedding output, block 0's input
    private final float[] lnf;       // [B, T, C]  final norm output
    private final float[] logits;    // [B, T, V]
    private final float[] probs;     // [B, T, V]  softmax of the logits, kept for backward, which turns it into
                                     //            dlogits in place (one buffer, not two: CrossEntropy.backwardInPlace)
    private final float[] losses;    // [B, T]
    private final float[] dres;      // [B, T, C]  scratch: gradient of the residual stream
    private final float[] dlnf;      // [B, T, C]  scratch: gradient of the final norm's output

    /** What runs around each layer (ZeRO-2/3), see {@link LayerHook}. */
    private LayerHook hook = LayerHook.NONE;

    // the batch of the last forward, for backward
    private int lastB;
    private int lastT;
    private int[] lastTokens;
    private int[] lastTargets;
    /** {@link #probs} holds the last forward's probabilities (false once backward made them dlogits). */
    private boolean probsSaved;

    /** A model initialised GPT-2 style from {@code seed}, for batches of up to {@code maxBatch} sequences. */
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

    /** A model with all parameters zero, with or without per-block recomputation. */
    public Gpt(GptConfig config, int maxBatch, boolean recompute) {
        this(ModelSpec.of(config), maxBatch, recompute, false);
    }

    /** A model of {@code spec}'s tensors (LoRA adapters, frozen tensors), all zero, to be loaded or initialised. */
    public Gpt(ModelSpec spec, int maxBatch, boolean recompute) {
        this(spec, maxBatch, recompute, false);
    }

    private Gpt(GptConfig config, int maxBatch, boolean recompute, boolean dry) {
        this(ModelSpec.of(config), maxBatch, recompute, dry);
    }

    private Gpt(ModelSpec spec, int maxBatch, boolean recompute, boolean dry) {
        GptConfig config = spec.config;
        if (maxBatch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + maxBatch);
        }
        if (!dry) {
            config.checkArrays();
        }
        if ((long) maxBatch * config.context() * Math.max(config.qkvWidth(), Math.max(config.mlpHidden(),
                config.vocab())) > Integer.MAX_VALUE - 16 && !dry) {
            throw new IllegalArgumentException("batch " + maxBatch + " × context " + config.context()
                    + " is too large for " + config + ": an activation buffer would exceed a Java array; use a"
                    + " smaller --batch (or --micro-batches) or --context");
        }
        this.config = config;
        this.maxBatch = maxBatch;
        this.recompute = recompute;
        this.spec = spec;
        this.lora = spec.lora;
        List<Param> ps = new ArrayList<>();
        Map<String, Param> byName = new LinkedHashMap<>();
        for (ParamSpec s : spec.params()) {
            Param p = new Param(s.name(), dry ? new int[]{0} : s.shape(), s.decay(), s.trainable());
            ps.add(p);
            byName.put(s.name(), p);
        }
        this.params = Collections.unmodifiableList(ps);
        this.acts = new Activations(recompute, dry);
        int B = maxBatch;
        int T = config.context();
        int C = config.dModel();
        int V = config.vocab();
        long N = (long) B * T;
        ModelSpec.Names n = new ModelSpec.Names(config);
        // RoPE's cos/sin tables [T, HS/2], shared by every layer
        float[][] rope = config.pos() == GptConfig.Pos.ROPE
                ? Rope.table(T, config.headSize(), GptConfig.ROPE_THETA) : null;
        embedding = new Embedding(byName.get(n.tokenEmbedding()),
                config.pos() == GptConfig.Pos.LEARNED ? byName.get(n.positionEmbedding()) : null, C);
        encoded = acts.outside("encoded", N * C);
        blocks = new Block[config.layers()];
        for (int l = 0; l < blocks.length; l++) {
            blocks[l] = block(l, byName, n, rope, B, T);
        }
        normF = Norm.create(config, byName.get(n.normF()), param(byName, n.normBiasOf(n.normF())), "ln_f",
                acts::outside, (int) N);
        lnf = acts.outside("ln_f", N * C);
        head = new LmHead(config.tieHead() ? byName.get(n.tokenEmbedding()) : byName.get(n.head()), C, V);
        logits = acts.outside("logits", N * V);
        probs = acts.outside("probs_dlogits", N * V);
        losses = acts.outside("losses", N);
        dres = acts.scratch("dres", N * C);
        dlnf = acts.scratch("dln", N * C);
    }

    /**
     * Block {@code l}: norm1 → attention (q, k, v projections, RoPE, the kernel, output projection), norm2 (sequential
     * form only) → MLP (GELU's fc and proj, or SwiGLU's gate, up and down); its buffers from the arena.
     */
    private Block block(int l, Map<String, Param> byName, ModelSpec.Names n, float[][] rope, int B, int T) {
        long N = (long) B * T;
        java.util.function.BiFunction<String, Long, float[]> saved = (name, size) -> acts.saved(l, name, size);
        Norm norm1 = Norm.create(config, byName.get(n.norm1(l)), param(byName, n.normBiasOf(n.norm1(l))), "ln_1",
                saved, (int) N);
        List<String> qkvNames = n.qkv(l);
        Linear[] qkv = new Linear[qkvNames.size()];
        for (int i = 0; i < qkv.length; i++) {
            qkv[i] = linear(byName, n, qkvNames.get(i), l, N);
        }
        SelfAttention attn = new SelfAttention(config, qkv, linear(byName, n, n.attnProj(l), l, N), rope, acts, l, B,
                T);
        Norm norm2 = config.block() == GptConfig.Block.PARALLEL ? null
                : Norm.create(config, byName.get(n.norm2(l)), param(byName, n.normBiasOf(n.norm2(l))), "ln_2",
                saved, (int) N);
        Mlp mlp = config.mlp() == GptConfig.Mlp.GELU
                ? new GeluMlp(linear(byName, n, n.mlpUp(l), l, N), linear(byName, n, n.mlpDown(l), l, N), acts, l, N)
                : new SwiGluMlp(linear(byName, n, n.mlpGate(l), l, N), linear(byName, n, n.mlpUp(l), l, N),
                linear(byName, n, n.mlpDown(l), l, N), acts, l, N);
        return new Block(config, norm1, attn, norm2, mlp, acts, l, N);
    }

    private static Param param(Map<String, Param> byName, String name) {
        return name == null ? null : byName.get(name);
    }

    /**
     * The linear layer whose weight is {@code weight} (spec shape {@code [out, in]}), with its bias if any and its
     * LoRA adapter if the spec has one.
     */
    private Linear linear(Map<String, Param> byName, ModelSpec.Names n, String weight, int layer, long N) {
        int[] shape = spec.param(weight).shape();
        Param a = byName.get(ModelSpec.loraA(weight));
        LoraAdapter adapter = a == null ? null : new LoraAdapter(a, byName.get(ModelSpec.loraB(weight)),
                spec.param(a.name).shape()[0], shape[1], shape[0], lora.scale(), (float) lora.dropout(), weight.substring(0, weight.length() - ".weight".length()), ++adapters,
                () -> dropoutSeed, acts, layer, N);
        return new Linear(byName.get(weight), param(byName, n.biasOf(weight)), shape[1], shape[0], adapter);
    }

    /** LoRA's settings, or null without adapters. */
    public Lora lora() {
        return lora;
    }

    /**
     * Dropout on the adapters' inputs for the forwards that follow, its mask a function of {@code seed} (call once
     * per micro-batch: the backward of a forward uses that forward's mask); {@link LoraAdapter#NO_DROPOUT} turns it
     * off (evaluation, generation). The default is off. No effect without adapters or with dropout 0.
     */
    public void setDropoutSeed(long seed) {
        dropoutSeed = seed;
    }

    /**
     * The buffers a model of {@code config} allocates for batches of {@code B} sequences, by category and name,
     * without allocating them (the layers are built against a dry {@link Activations}).
     */
    public static ActivationLayout layout(GptConfig config, int B, boolean recompute) {
        return new Gpt(config, B, recompute, true).layout();
    }

    /** As {@link #layout(GptConfig, int, boolean)} for the tensors of {@code spec} (LoRA adapters' buffers too). */
    public static ActivationLayout layout(ModelSpec spec, int B, boolean recompute) {
        return new Gpt(spec, B, recompute, true).layout();
    }

    /**
     * GPT-2's initialisation, seeded, in {@link #params()} order from one {@link Rng}: weights and embeddings
     * normal(0, 0.02); the projections into the residual stream ({@code attn.c_proj}, {@code mlp.c_proj}; LLaMA's
     * {@code o_proj}, {@code down_proj}) normal(0, 0.02/√(2L)) so the residual's variance does not grow with depth;
     * biases 0, norm gains 1. The LLaMA family uses the same scheme (Hugging Face draws every weight from
     * normal(0, 0.02) without the residual scaling).
     */
    public void init(long seed) {
        Rng rng = new Rng(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * config.layers());
        List<ParamSpec> specs = spec.params();
        for (int i = 0; i < specs.size(); i++) {
            Param p = params.get(i);
            Init init = specs.get(i).init();
            switch (init) {
                case ONES -> Arrays.fill(p.data, 1f);
                case ZEROS -> Arrays.fill(p.data, 0f);
                case NORMAL -> rng.fillNormal(p.data, 0, 0.02);
                case NORMAL_RESIDUAL -> rng.fillNormal(p.data, 0, residualStd);
                case KAIMING_UNIFORM -> {
                    // PEFT's kaiming_uniform_(a=√5) on [r, in]: U(−1/√in, 1/√in)
                    double bound = 1.0 / Math.sqrt(p.shape()[1]);
                    rng.fillUniform(p.data, -bound, bound);
                }
            }
            p.syncWorking();
        }
    }

    /** The parameter list: names, shapes and order of {@link ModelSpec}. */
    public List<Param> params() {
        return params;
    }

    /** The spec the model was built from. */
    public ModelSpec spec() {
        return spec;
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

    /**
     * The parameters by layer, the units in which ZeRO-2/3 shard and communicate: group 0 the tensors outside the
     * blocks (embeddings, final norm, an untied head), group {@code l + 1} block l's, each in {@link #params()} order.
     */
    public List<List<Param>> paramGroups() {
        List<List<Param>> groups = new ArrayList<>();
        for (int g = 0; g <= config.layers(); g++) {
            groups.add(new ArrayList<>());
        }
        List<ParamSpec> specs = spec.params();
        for (int i = 0; i < specs.size(); i++) {
            groups.get(specs.get(i).layer() + 1).add(params.get(i));
        }
        return groups;
    }

    /** Sets what runs around each layer's forward and backward ({@link LayerHook#NONE} by default). */
    public void setLayerHook(LayerHook h) {
        hook = java.util.Objects.requireNonNull(h, "hook");
    }

    /** Number of parameter values P (a tied LM head is the token embedding, counted once). */
    public long parameterCount() {
        return spec.parameters();
    }

    // ------------------------------------------------------------------------------------------------------------

    /** {@link #forward(StepContext, int[], int[], int, int)} in FP32. */
    public double forward(int[] tokens, int[] targets, int B, int T) {
        return forward(StepContext.FP32, tokens, targets, B, T);
    }

    /**
     * Forward pass over {@code tokens [B, T]} (row-major, {@code B ≤ maxBatch}, {@code T ≤ context}). With
     * {@code targets [B, T]}, computes the cross-entropy, returns the mean loss (nats per token) and keeps what
     * {@link #backward} needs; with {@code targets == null}, computes the logits only and returns NaN.
     */
    public double forward(StepContext ctx, int[] tokens, int[] targets, int B, int T) {
        checkBatch(tokens, targets, B, T);
        probsSaved = false;
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.FORWARD);
        try {
            int N = B * T;
            int C = config.dModel();
            int V = config.vocab();
            // x = wte[tokens] (+ wpe[t])
            hook.beforeForward(0);
            embedding.forward(ctx, encoded, tokens, B, T);
            for (int l = 0; l < blocks.length; l++) {
                hook.beforeForward(l + 1);
                blocks[l].forward(ctx, blockInput(l), B, T);
                hook.afterForward(l + 1);
            }
            // final norm, then logits = lnf · Wᵀ (W: the token embedding when tied)
            normF.forward(lnf, blocks[blocks.length - 1].out, N);
            ctx.act(lnf, N * C);
            head.forward(ctx, logits, lnf, N);
            hook.afterForward(0);
            lastB = B;
            lastT = T;
            lastTokens = tokens;
            lastTargets = targets;
            if (targets == null) {
                return Double.NaN;
            }
            double loss = CrossEntropy.forward(losses, probs, logits, targets, N, V);
            probsSaved = true;
            return loss;
        } finally {
            Ledger.setPhase(old);
        }
    }

    /** {@link #backward(StepContext, float)} in FP32. */
    public void backward(float lossScale) {
        backward(StepContext.FP32, lossScale);
    }

    /**
     * Backward pass of the last {@link #forward} (which must have had targets): ACCUMULATES into every
     * {@link Param#grad} the gradient of {@code lossScale × mean loss}. Use {@code lossScale = 1/k} to average
     * {@code k} micro-batches, times any loss-scaling factor. Once per forward: it turns the probabilities the
     * forward saved into the logits' gradient in place, so a second backward without a forward is refused.
     */
    public void backward(StepContext ctx, float lossScale) {
        if (lastTargets == null) {
            throw new IllegalStateException("backward needs a forward with targets first");
        }
        if (!probsSaved) {
            throw new IllegalStateException("backward ran already for the last forward (its probabilities became"
                    + " dlogits in place): run forward again before the next backward");
        }
        probsSaved = false;
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.BACKWARD);
        try {
            int B = lastB;
            int T = lastT;
            int N = B * T;
            int C = config.dModel();
            int V = config.vocab();
            // dlogits = (probs - onehot(targets)) · lossScale / N, in place of the probabilities
            CrossEntropy.backwardInPlace(probs, lastTargets, lossScale / N, N, V);
            float[] dlogits = probs;
            ctx.act(dlogits, N * V);
            // LM head: dlnf = dlogits · W, dW += dlogitsᵀ · lnf
            hook.beforeBackward(0);
            head.backward(ctx, dlnf, dlogits, lnf, N);
            // final norm: dres = gradient of the last block's output
            Arrays.fill(dres, 0, N * C, 0f);
            normF.backward(dres, dlnf, blocks[blocks.length - 1].out, N);
            ctx.act(dres, N * C);
            for (int l = blocks.length - 1; l >= 0; l--) {
                hook.beforeBackward(l + 1);
                if (recompute) {
                    // refill block l's buffers from its kept input (bit-identical to the first forward)
                    Ledger.setPhase(Ledger.Phase.RECOMPUTE);
                    blocks[l].forward(ctx, blockInput(l), B, T);
                    Ledger.setPhase(Ledger.Phase.BACKWARD);
                }
                blocks[l].backward(ctx, dres, blockInput(l), B, T);
                hook.afterBackward(l + 1);
            }
            // embeddings: dwte[tokens[b,t]] += dres[b,t] (and dwpe[t] += dres[b,t])
            embedding.backward(dres, lastTokens, B, T);
            hook.afterBackward(0);
        } finally {
            Ledger.setPhase(old);
        }
    }

    /**
     * Generation with a contiguous KV cache: runs token {@code token} at position {@code pos} (positions 0..pos-1
     * already in {@code cache}), writes its K/V rows into the cache and the next-token logits {@code [V]} into row 0
     * of {@link #logits()}. Charged to the ledger as {@link Ledger.Phase#FORWARD}; uses row 0 of the buffers, so
     * it overwrites the last forward's state.
     */
    public void decode(StepContext ctx, KvCache cache, int token, int pos) {
        decode(ctx, cache.k, cache.v, null, 1, token, pos);
    }

    /** As {@link #decode(StepContext, KvCache, int, int)} for sequence {@code s} of a paged cache. */
    public void decode(StepContext ctx, PagedKvCache cache, int s, int token, int pos) {
        cache.ensure(s, pos);
        decode(ctx, cache.k, cache.v, cache.table(s), cache.pageSize, token, pos);
    }

    /**
     * R sequences of a paged cache at once: row r decodes token {@code tokens[r]} of sequence {@code seqs[r]} at
     * position {@code pos[r]}; the next-token logits of row r land in row r of {@link #logits()} ({@code [R, V]}).
     * The weight matmuls run as GEMMs over the R rows, so each weight is read once per step for all sequences
     * (R = 1 runs {@link #decode(StepContext, PagedKvCache, int, int, int)}).
     * Needs {@code R <= maxBatch · context} rows of buffer.
     */
    public void decodeBatch(StepContext ctx, PagedKvCache cache, int[] seqs, int[] tokens, int[] pos, int R) {
        if (R < 1 || R > maxBatch * config.context()) {
            throw new IllegalArgumentException("batched decode of " + R + " rows: need 1 to " + maxBatch
                    * config.context() + " (the buffers' rows)");
        }
        if (R == 1) {
            // one row: the matrix-vector path (the GEMM's packing would triple the weight traffic)
            decode(ctx, cache, seqs[0], tokens[0], pos[0]);
            return;
        }
        int[][] tables = new int[R][];
        for (int r = 0; r < R; r++) {
            if (pos[r] < 0 || pos[r] >= config.context() || tokens[r] < 0 || tokens[r] >= config.vocab()) {
                throw new IllegalArgumentException("row " + r + ": token " + tokens[r] + " at position " + pos[r]
                        + " outside the vocabulary [0, " + config.vocab() + ") or the context [0, "
                        + config.context() + ")");
            }
            cache.ensure(seqs[r], pos[r]);
            tables[r] = cache.table(seqs[r]);
        }
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.FORWARD);
        try {
            int C = config.dModel();
            // x[r] = wte[tokens[r]] (+ wpe[pos[r]])
            float[] row = new float[C];
            for (int r = 0; r < R; r++) {
                embedding.decode(ctx, row, tokens[r], pos[r]);
                System.arraycopy(row, 0, encoded, r * C, C);
            }
            for (int l = 0; l < blocks.length; l++) {
                blocks[l].decodeBatch(ctx, blockInput(l), R, pos, cache.k[l], cache.v[l], tables, cache.pageSize);
            }
            normF.forward(lnf, blocks[blocks.length - 1].out, R);
            ctx.act(lnf, R * C);
            head.forward(ctx, logits, lnf, R);
            lastTargets = null;
        } finally {
            Ledger.setPhase(old);
        }
    }

    private void decode(StepContext ctx, float[][] k, float[][] v, int[] blockTable, int pageSize, int token,
                        int pos) {
        if (pos < 0 || pos >= config.context()) {
            throw new IllegalArgumentException("position " + pos + " outside [0, " + config.context()
                    + ") (context): the cache holds at most context positions");
        }
        if (token < 0 || token >= config.vocab()) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, "
                    + config.vocab() + ")");
        }
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.FORWARD);
        try {
            int C = config.dModel();
            // x = wte[token] (+ wpe[pos])
            embedding.decode(ctx, encoded, token, pos);
            for (int l = 0; l < blocks.length; l++) {
                blocks[l].decode(ctx, blockInput(l), pos, k[l], v[l], blockTable, pageSize);
            }
            // final norm, then logits [1, V]
            normF.forward(lnf, blocks[blocks.length - 1].out, 1);
            ctx.act(lnf, C);
            head.decode(ctx, logits, lnf);
            lastTargets = null;
        } finally {
            Ledger.setPhase(old);
        }
    }

    /** Logits {@code [B, T, V]} of the last forward (row {@code b·T + t} for the B, T passed). Do not modify. */
    public float[] logits() {
        return logits;
    }

    /** Per-token losses {@code [B, T]} of the last forward with targets. */
    public float[] losses() {
        return losses;
    }

    /** The model's buffers besides parameters, in bytes, by category and name, as allocated. */
    public ActivationLayout layout() {
        return acts.layout();
    }

    private float[] blockInput(int l) {
        return l == 0 ? encoded : blocks[l - 1].out;
    }

    private void checkBatch(int[] tokens, int[] targets, int B, int T) {
        if (B < 1 || B > maxBatch) {
            throw new IllegalArgumentException("batch " + B + " outside [1, " + maxBatch + "] (the model's buffers"
                    + " were allocated for " + maxBatch + ")");
        }
        if (T < 1 || T > config.context()) {
            throw new IllegalArgumentException("sequence length " + T + " outside [1, " + config.context()
                    + "] (context)");
        }
        int N = B * T;
        if (tokens.length < N || (targets != null && targets.length < N)) {
            throw new IllegalArgumentException("need " + N + " tokens and targets for B=" + B + ", T=" + T
                    + ", got " + tokens.length + (targets == null ? "" : " and " + targets.length));
        }
        for (int i = 0; i < N; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocab()) {
                throw new IllegalArgumentException("token " + tokens[i] + " at position " + i
                        + " is outside the vocabulary [0, " + config.vocab() + ")");
            }
        }
    }
}
