package dev.sixpd.optim;

import java.util.List;
import java.util.Map;

/**
 * Updates FP32 master weights from their FP32 gradients. Implementations: {@link Sgd}, {@link AdamW} (which is
 * also Adam with L2 regularisation, {@link AdamW#adam}).
 *
 * <p>State (momentum, first and second moments) is FP32, one array per parameter and slot, created zeroed on the
 * first {@link #step} (or by {@link #init}) and keyed {@code "<param name>.<slot>"}, e.g.
 * {@code h.0.attn.c_attn.weight.m}. {@link #state()} and {@link #stepCount()} are everything a checkpoint must
 * save; {@link #load} puts them back and refuses any mismatch in names or sizes.
 *
 * <p>{@link #step} charges its FLOPs to {@code Ledger.Phase.OPTIMIZER} (it sets the phase and restores the
 * previous one). It does not refresh working copies: call {@link Param#syncWorking()} afterwards (or
 * {@link #stepAndSync}). Not thread-safe; internally multi-threaded via {@code Parallel}, bit-identical for any
 * thread count (the update is elementwise).
 */
public interface Optimizer {
    /** Applies one update with learning rate {@code lr} to every parameter, in list order; increments the step count. */
    void step(List<Param> params, float lr);

    /** {@link #step} followed by {@link Param#syncWorking()} on every parameter. */
    default void stepAndSync(List<Param> params, float lr) {
        step(params, lr);
        for (Param p : params) {
            p.syncWorking();
        }
    }

    /** Allocates zeroed state for every parameter now (step does this lazily), so state and memory can be reported. */
    void init(List<Param> params);

    /** Number of steps taken (the {@code t} of Adam's bias correction after the last step). */
    long stepCount();

    /** State slot names per parameter, e.g. {@code ["m", "v"]}; empty for plain SGD. */
    List<String> slots();

    /**
     * The live state arrays in parameter order, keys {@code "<param>.<slot>"}. The arrays are the optimizer's own:
     * copy them if you keep them while training continues.
     */
    Map<String, float[]> state();

    /**
     * Restores state saved from {@link #state()} and {@link #stepCount()}. Every parameter must have every slot with
     * exactly its size, and no extra keys are allowed; otherwise throws {@link IllegalArgumentException} naming the
     * key and both sizes. The arrays are copied. An empty map is accepted only with {@code stepCount == 0}.
     */
    void load(List<Param> params, Map<String, float[]> state, long stepCount);

    /** Bytes of optimizer state currently allocated. */
    long stateBytes();

    /** Bytes of state this optimizer keeps per parameter element (AdamW 8, SGD with momentum 4, plain SGD 0). */
    default int stateBytesPerElement() {
        return 4 * slots().size();
    }

    /** A one-line description with every hyperparameter, e.g. for logs and the checkpoint JSON. */
    String describe();
}
