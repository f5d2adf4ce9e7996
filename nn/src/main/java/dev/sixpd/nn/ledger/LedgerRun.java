package dev.sixpd.nn.ledger;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelSpec;
import dev.sixpd.tensor.DType;

/**
 * What a training run did, for {@link LedgerReport}: the model shape, the batch shape, how many optimizer steps and
 * forward/backward passes the ledger snapshot covers, and the options that change the formulas.
 *
 * @param config           the model
 * @param batch            B, sequences per forward pass (per micro-batch)
 * @param seqLen           T, tokens per sequence (≤ the context)
 * @param steps            optimizer steps the snapshot covers
 * @param microbatches     forward+backward passes per optimizer step (gradient accumulation; 1 without)
 * @param recomputedBlocks blocks whose forward the backward re-runs, per pass (0 without recomputation, L with
 *                         per-block recomputation of every block)
 * @param weightDecay      whether AdamW applies weight decay (to the L·12C² linear weights)
 * @param weightDtype      the working dtype of the weights (FP32, or BF16/FP16 for mixed precision)
 * @param spec             the model's tensors: which are frozen, which are LoRA adapters ({@code ModelSpec.of(config)}
 *                         for plain training)
 */
public record LedgerRun(GptConfig config, int batch, int seqLen, long steps, int microbatches, int recomputedBlocks,
                        boolean weightDecay, DType weightDtype, ModelSpec spec) {

    /** A run of the plain model, every tensor trained. */
    public LedgerRun(GptConfig config, int batch, int seqLen, long steps, int microbatches, int recomputedBlocks,
                     boolean weightDecay, DType weightDtype) {
        this(config, batch, seqLen, steps, microbatches, recomputedBlocks, weightDecay, weightDtype,
                config == null ? null : ModelSpec.of(config));
    }

    public LedgerRun {
        if (config == null || weightDtype == null || spec == null || !spec.config.equals(config)) {
            throw new IllegalArgumentException("a ledger run needs a model config and a weight dtype");
        }
        if (batch < 1 || seqLen < 1 || seqLen > config.context()) {
            throw new IllegalArgumentException("batch " + batch + " and sequence length " + seqLen + " must be >= 1, "
                    + "and the sequence length at most the context " + config.context());
        }
        if (steps < 1 || microbatches < 1) {
            throw new IllegalArgumentException("steps (" + steps + ") and micro-batches per step (" + microbatches
                    + ") must be >= 1: the report divides by the tokens processed");
        }
        if (recomputedBlocks < 0 || recomputedBlocks > config.layers()) {
            throw new IllegalArgumentException("recomputed blocks " + recomputedBlocks + " outside [0, "
                    + config.layers() + "] (the number of layers)");
        }
    }

    /** A plain FP32 run: one micro-batch per step, no recomputation, AdamW with weight decay. */
    public static LedgerRun of(GptConfig config, int batch, int seqLen, long steps) {
        return new LedgerRun(config, batch, seqLen, steps, 1, 0, true, DType.FP32);
    }

    public LedgerRun withMicrobatches(int k) {
        return new LedgerRun(config, batch, seqLen, steps, k, recomputedBlocks, weightDecay, weightDtype, spec);
    }

    /** With per-block recomputation of every block ({@code recompute} true) or none. */
    public LedgerRun withRecompute(boolean recompute) {
        return withRecomputedBlocks(recompute ? config.layers() : 0);
    }

    public LedgerRun withRecomputedBlocks(int blocks) {
        return new LedgerRun(config, batch, seqLen, steps, microbatches, blocks, weightDecay, weightDtype, spec);
    }

    public LedgerRun withWeightDecay(boolean decay) {
        return new LedgerRun(config, batch, seqLen, steps, microbatches, recomputedBlocks, decay, weightDtype, spec);
    }

    public LedgerRun withWeightDtype(DType dtype) {
        return new LedgerRun(config, batch, seqLen, steps, microbatches, recomputedBlocks, weightDecay, dtype, spec);
    }

    /** This run with the model's tensors {@code spec} (frozen tensors, adapters). */
    public LedgerRun withSpec(ModelSpec spec) {
        return new LedgerRun(config, batch, seqLen, steps, microbatches, recomputedBlocks, weightDecay, weightDtype,
                spec);
    }

    /** Forward (and backward) passes: steps × micro-batches. */
    public long passes() {
        return Math.multiplyExact(steps, (long) microbatches);
    }

    /** D, tokens processed: steps × micro-batches × B × T. */
    public long tokens() {
        return Math.multiplyExact(passes(), (long) batch * seqLen);
    }

    /** Whether the weights train in mixed precision (a 16-bit working copy beside the FP32 masters). */
    public boolean mixedPrecision() {
        return weightDtype != DType.FP32;
    }
}
