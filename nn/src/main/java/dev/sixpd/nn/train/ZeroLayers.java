package dev.sixpd.nn.train;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.LayerHook;
import dev.sixpd.optim.Param;
import dev.sixpd.optim.ShardedAdamW;

import java.util.List;
import java.util.function.Consumer;

/**
 * ZeRO-2 and ZeRO-3 inside a model's forward and backward, as a {@link LayerHook} on {@link Gpt#paramGroups()}:
 * <pre>
 *   before a layer's forward:   ZeRO-3: all-gather its weights              (gatherGroup)
 *   after it:                   ZeRO-3: release them                        (releaseGroup)
 *   before a layer's backward:  ZeRO-3: all-gather its weights again; its gradient arrays (acquireGradients)
 *   after it:                   ZeRO-3: release the weights; finish the gradient (the caller's: 16-bit rounding,
 *                               gradient scale), reduce-scatter it into this rank's shard and release it
 *                               (reduceGroup)
 * </pre>
 * Every method is a collective when it communicates (all ranks run the same layers in the same order). Counts the
 * wall time of the all-gathers and reduce-scatters. Not thread-safe.
 */
public final class ZeroLayers implements LayerHook {
    private final ShardedAdamW opt;
    private final List<List<Param>> groups;
    private final Consumer<List<Param>> finish;
    private long gatherNanos;
    private long reduceNanos;

    /**
     * @param opt    a stage 2 or 3 optimizer built over {@code model.paramGroups()}
     * @param finish what happens to a layer's finished gradient before its reduce-scatter (may do nothing)
     */
    public ZeroLayers(ShardedAdamW opt, Gpt model, Consumer<List<Param>> finish) {
        if (opt.stage() < 2) {
            throw new IllegalArgumentException("ZeroLayers is for ZeRO stages 2 and 3, got " + opt.stage());
        }
        this.opt = opt;
        this.groups = model.paramGroups();
        this.finish = finish;
        if (groups.size() != opt.groups()) {
            throw new IllegalArgumentException("the optimizer has " + opt.groups() + " groups, the model "
                    + groups.size() + " layers: build it over model.paramGroups()");
        }
    }

    @Override
    public void beforeForward(int g) {
        gather(g);
    }

    @Override
    public void afterForward(int g) {
        release(g);
    }

    @Override
    public void beforeBackward(int g) {
        gather(g);
        opt.acquireGradients(g);
    }

    @Override
    public void afterBackward(int g) {
        release(g);
        finish.accept(groups.get(g));
        long t = System.nanoTime();
        opt.reduceGroup(g);
        reduceNanos += System.nanoTime() - t;
    }

    /** Wall time in the weights' all-gathers so far (ZeRO-3), ns. */
    public long gatherNanos() {
        return gatherNanos;
    }

    /** Wall time in the gradients' reduce-scatters so far, ns. */
    public long reduceNanos() {
        return reduceNanos;
    }

    private void gather(int g) {
        if (opt.stage() == 3) {
            long t = System.nanoTime();
            opt.gatherGroup(g);
            gatherNanos += System.nanoTime() - t;
        }
    }

    private void release(int g) {
        if (opt.stage() == 3) {
            opt.releaseGroup(g);
        }
    }
}
