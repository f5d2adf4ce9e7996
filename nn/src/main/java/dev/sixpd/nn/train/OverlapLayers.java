package dev.sixpd.nn.train;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.LayerHook;
import dev.sixpd.optim.Param;
import dev.sixpd.optim.ShardedAdamW;

import java.util.List;
import java.util.function.Consumer;

/**
 * ZeRO-0 with {@code --overlap}: the all-reduce of a layer's gradients runs while backward computes the earlier
 * layers, as PyTorch DDP's gradient buckets do. A {@link LayerHook} on {@link Gpt#paramGroups()}:
 * <pre>
 *   before a layer's backward:  one MPI_Test (Open MPI advances started collectives only inside MPI calls)
 *   after it, last micro-batch: finish its gradient (the caller's: 16-bit rounding, gradient scale), copy it into
 *                               its off-heap bucket and start the non-blocking all-reduce (startLayer), MPI_Test
 *   ShardedAdamW.reduceGradients, before the optimizer: MPI_Waitall, the sums into the gradient
 * </pre>
 * A layer's gradient is complete only after the last micro-batch's backward of it, so earlier micro-batches
 * accumulate as without overlap and communicate nothing: the same sums, the same bits. Counts the wall time of
 * starting and testing. Not thread-safe; every start is a collective (all ranks run the same layers in order).
 */
public final class OverlapLayers implements LayerHook {
    private final ShardedAdamW opt;
    private final List<List<Param>> groups;
    private final Consumer<List<Param>> finish;
    private final int microBatches;
    /** Backward passes ended in this step (group 0 ends each). */
    private int backwards;
    private long startNanos;

    /**
     * @param opt          a stage 0 optimizer on which {@link ShardedAdamW#overlapLayers} was called with
     *                     {@code model.paramGroups()}
     * @param finish       what happens to a layer's gradient before its all-reduce (may do nothing)
     * @param microBatches backward passes per step: the layers are started after the last one
     */
    public OverlapLayers(ShardedAdamW opt, Gpt model, Consumer<List<Param>> finish, int microBatches) {
        if (!opt.overlapped()) {
            throw new IllegalArgumentException("call opt.overlapLayers(model.paramGroups()) first");
        }
        this.opt = opt;
        this.groups = model.paramGroups();
        this.finish = finish;
        this.microBatches = microBatches;
    }

    /** Local: a new step begins (its first backward is micro-batch 0). */
    public void beginStep() {
        backwards = 0;
    }

    @Override
    public void beforeBackward(int g) {
        long t = System.nanoTime();
        opt.progress();
        startNanos += System.nanoTime() - t;
    }

    @Override
    public void afterBackward(int g) {
        if (backwards == microBatches - 1) {
            finish.accept(groups.get(g));
            long t = System.nanoTime();
            opt.startLayer(g);
            opt.progress();
            startNanos += System.nanoTime() - t;
        }
        if (g == 0) {
            backwards++; // group 0 brackets the whole backward: it ends last
        }
    }

    /** Wall time in starting and testing the layers' all-reduces so far, ns. */
    public long startNanos() {
        return startNanos;
    }
}
