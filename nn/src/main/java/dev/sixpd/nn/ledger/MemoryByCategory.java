package dev.sixpd.nn.ledger;

import dev.sixpd.nn.Gpt;
import dev.sixpd.optim.ModelStateMemory;
import dev.sixpd.optim.Optimizer;


/**
 * Measured bytes of a training run by category, as allocated. The caller fills it ({@link #measure} does so from
 * a model and its optimizer).
 *
 * @param masterWeights  FP32 master weights
 * @param workingWeights separate working-dtype copies of the weights (0 when training in FP32: the forward reads
 *                       the masters)
 * @param grads          gradients
 * @param optimizerState optimizer state (AdamW: m and v)
 * @param activations    activations saved for backward, at the peak
 * @param workspace      scratch that is not kept between kernels (the backward pass's gradient buffers)
 * @param trainable      parameter elements the optimizer updates (gradients and state are theirs alone)
 * @param frozen         parameter elements frozen: weights only (the base model under LoRA)
 */
public record MemoryByCategory(long masterWeights, long workingWeights, long grads, long optimizerState,
                               long activations, long workspace, long trainable, long frozen) {

    /** Without the parameter counts (0 trainable, 0 frozen: unknown). */
    public MemoryByCategory(long masterWeights, long workingWeights, long grads, long optimizerState, long activations,
                            long workspace) {
        this(masterWeights, workingWeights, grads, optimizerState, activations, workspace, 0, 0);
    }

    public MemoryByCategory {
        if (masterWeights < 0 || workingWeights < 0 || grads < 0 || optimizerState < 0 || activations < 0
                || workspace < 0) {
            throw new IllegalArgumentException("memory by category must be >= 0 bytes each, got " + masterWeights
                    + ", " + workingWeights + ", " + grads + ", " + optimizerState + ", " + activations + ", "
                    + workspace);
        }
    }

    /**
     * Measures {@code model} (its parameters, and the buffers it allocated as {@link Gpt#layout()} reports them:
     * saved activations at the peak, and the backward scratch as workspace) and {@code optimizer} (may be null: no
     * state). Measure after the first optimizer step: optimizers allocate their state lazily.
     */
    public static MemoryByCategory measure(Gpt model, Optimizer optimizer) {
        ModelStateMemory ms = ModelStateMemory.of(model.params(), optimizer);
        ActivationLayout lay = model.layout();
        // frozen tensors hold weights alone: ModelStateMemory counts them apart
        return new MemoryByCategory(ms.masterBytes(), ms.workingBytes(), ms.gradBytes(), ms.optimizerBytes(),
                lay.savedForBackwardBytes(), lay.workspaceBytes(), ms.trainable(), ms.frozen());
    }

    /** Model states: master + working weights + gradients + optimizer state. */
    public long modelStates() {
        return masterWeights + workingWeights + grads + optimizerState;
    }

    /** Everything: model states + activations + workspace. */
    public long total() {
        return modelStates() + activations + workspace;
    }
}
