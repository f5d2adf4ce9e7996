package dev.sixpd.bench;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.optim.AdamW;
import dev.sixpd.optim.Grads;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One full FP32 training step of a GPT preset, the unit {@code ./sixpd bench step} and
 * {@link TrainingStepBenchmark} time: zero the gradients, forward with the cross-entropy loss, backward, AdamW
 * update of the FP32 weights; the calls nn's {@code Trainer} makes, in its order, for one micro-batch.
 *
 * <p>Like the PyTorch peer ({@code bench/peers/torch_gpt_step.py}) and unlike a training run, the step has no
 * gradient clipping, data loading or evaluation: both sides time exactly forward + loss + backward + AdamW on a
 * fixed batch of seeded random tokens. AdamW(β1 0.9, β2 0.95, ε 1e-8, weight decay 0.1), lr 3e-4, as the peer.
 *
 * <p>Shapes (the issue's): {@code tiny} (2 layers, d 64, 4 heads, T 64) batch 16; {@code small} (4, 128, 4, 128)
 * batch 16; {@code medium} (6, 384, 6, 256) batch 8; {@code llama-tiny} and {@code llama-small}, tiny's and small's
 * sizes with LLaMA's parts (RMSNorm, RoPE, SwiGLU, 2 K/V heads, no biases, untied head), batch 16; character
 * vocabulary of 65. The model is {@link GptConfig#preset}'s.
 *
 * <p>Not thread-safe (the model's buffers are reused); the kernels use {@code Parallel}'s threads.
 */
public final class TrainingStep {
    /** The character vocabulary of the benchmarks. */
    public static final int VOCAB = 65;
    /** Batch per preset, as in the issue and the PyTorch peer. */
    static final Map<String, Integer> BATCH = batches();
    static final float LR = 3e-4f;

    private final String preset;
    private final GptConfig config;
    private final int batch;
    private final Gpt model;
    private final List<Param> params;
    private final AdamW opt;
    private final int[] x;
    private final int[] y;
    private double lastLoss = Double.NaN;

    /** A freshly initialised {@code preset} model (seed 0) with its preset batch. */
    public TrainingStep(String preset) {
        this(preset, defaultBatch(preset));
    }

    /** A freshly initialised {@code preset} model (seed 0) training on {@code batch} random sequences. */
    public TrainingStep(String preset, int batch) {
        this(preset, batch, GptConfig.Attn.NAIVE);
    }

    /** As {@link #TrainingStep(String, int)}, with the attention kernel {@code attention} (naive or flash). */
    public TrainingStep(String preset, int batch, GptConfig.Attn attention) {
        this.preset = preset.toLowerCase(Locale.ROOT);
        this.config = GptConfig.preset(preset, VOCAB).withAttention(attention);
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        this.batch = batch;
        this.model = new Gpt(config, batch, 0L);
        this.params = model.params();
        this.opt = new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
        opt.init(params);
        int n = batch * config.context();
        x = new int[n];
        y = new int[n];
        Rng rng = new Rng(1234);
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextInt(VOCAB);
            y[i] = rng.nextInt(VOCAB);
        }
    }

    private static Map<String, Integer> batches() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("tiny", 16);
        m.put("small", 16);
        m.put("medium", 8);
        m.put("llama-tiny", 16);
        m.put("llama-small", 16);
        return Collections.unmodifiableMap(m);
    }

    /**
     * The batch for {@code preset}: tiny 16, small 16, medium 8, llama-tiny 16, llama-small 16; an unknown
     * name lists the presets.
     */
    public static int defaultBatch(String preset) {
        Integer b = BATCH.get(preset == null ? "" : preset.toLowerCase(Locale.ROOT));
        if (b == null) {
            throw new IllegalArgumentException("unknown preset '" + preset + "': use one of "
                    + String.join(", ", BATCH.keySet()));
        }
        return b;
    }

    /** One step: zero gradients, forward + loss, backward, AdamW. Returns the loss before the update. */
    public double step() {
        Grads.zero(params);
        double loss = model.forward(x, y, batch, config.context());
        model.backward(1f);
        opt.stepAndSync(params, LR);
        lastLoss = loss;
        return loss;
    }

    /**
     * Runs one step with the ledger on and returns what it recorded: {@code {forward + backward FLOPs (the model
     * FLOPs of MFU), optimizer FLOPs, forward + backward bytes}}. The ledger's previous on/off state is restored.
     */
    public long[] ledgerFlopsOfOneStep() {
        boolean on = Ledger.enabled();
        Ledger.setEnabled(true);
        try {
            Ledger.Snapshot before = Ledger.snapshot();
            step();
            Ledger.Snapshot d = Ledger.snapshot().minus(before);
            long bytes = 0;
            for (Ledger.Kind k : Ledger.Kind.values()) {
                bytes += d.bytes(Ledger.Phase.FORWARD, k) + d.bytes(Ledger.Phase.BACKWARD, k);
            }
            return new long[] {d.flops(Ledger.Phase.FORWARD) + d.flops(Ledger.Phase.BACKWARD),
                d.flops(Ledger.Phase.OPTIMIZER), bytes};
        } finally {
            Ledger.setEnabled(on);
        }
    }

    public String preset() {
        return preset;
    }

    public GptConfig config() {
        return config;
    }

    public int batch() {
        return batch;
    }

    /** Tokens per step, {@code batch · context}. */
    public int tokens() {
        return batch * config.context();
    }

    public long parameterCount() {
        return model.parameterCount();
    }

    /** The loss of the last step (NaN before the first). */
    public double lastLoss() {
        return lastLoss;
    }
}
