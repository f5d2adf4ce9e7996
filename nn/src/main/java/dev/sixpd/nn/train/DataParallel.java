package dev.sixpd.nn.train;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.mpi.MpiRun;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.UserException;
import dev.sixpd.optim.AdamW;
import dev.sixpd.optim.LossScaler;
import dev.sixpd.optim.Param;
import dev.sixpd.optim.ShardedAdamW;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Data parallelism for {@link Trainer}: what one rank of {@code mpirun -np N sixpd train ...} does differently
 * from a single process. The trainer calls it at a few points of a step; everything else is the single-process
 * loop.
 *
 * <p><b>The batch.</b> {@code --batch B} stays the global batch, drawn identically on every rank from (seed, step);
 * rank r takes sequences {@code [r·B/N, (r+1)·B/N)} of it, in {@code --micro-batches M} micro-batches of
 * {@code B/(N·M)} sequences (so B must divide by N·M). Each rank's backward runs with loss multiplier
 * {@code scale/M}, so its gradient is the mean over its B/N sequences; {@link ShardedAdamW#reduceGradients} sums the
 * N gradients and multiplies by 1/N: the mean over the global batch. The printed loss is the mean of the ranks'
 * losses (an all-reduce). Clipping uses the global norm over all ranks, and with loss scaling any rank's overflow
 * skips the step on every rank ({@link ShardedAdamW#unscaleAndCheck}), so the schedule, clipping and scaling are
 * the single-process run's.
 *
 * <p><b>Stages 2 and 3, layer by layer.</b> With {@code --zero 2} the model's {@link ZeroLayers} hook gives each layer
 * ({@link Gpt#paramGroups()}) a gradient only while its backward runs: right after it, the trainer's finishing
 * (16-bit rounding and statistics, the gradient scale) and the layer's reduce-scatter into this rank's shard run,
 * and the layer's gradient arrays go to the next layer. So during backward a rank holds its shard (4Ψ/N), the
 * outside group's gradient (embeddings, final norm, head: the tied head's and the embedding's gradients land at
 * the two ends of backward) and one block's. With {@code --zero 3} the same hook also all-gathers a layer's weights
 * before its forward and before its backward and releases them after; no rank holds the whole model between
 * layers. With several micro-batches each micro-batch's layer gradients are reduce-scattered and added into the
 * shard. Evaluation runs the same gathers (every rank evaluates); checkpoints and the final sample gather the
 * whole model first ({@link #gatherAllWeights}).
 *
 * <p><b>Overlap ({@code --overlap}, ZeRO-0).</b> The {@link OverlapLayers} hook copies each layer's finished
 * gradient into an off-heap bucket when the last micro-batch's backward of the layer ends and starts its
 * non-blocking all-reduce; {@link #reduceGradients} waits for all of them before the optimizer. The shard's layout
 * and the sums are those of the one blocking all-reduce, so the losses are the same bits on 2 ranks (tested).
 *
 * <p><b>What is equal to what.</b> ZeRO stages 0 to 3 give the same bits on 2 ranks with one micro-batch per rank
 * (the mean gradient is the same one addition, the update elementwise, the gathered weights the masters rounded
 * alike; tested). With several micro-batches stages 2 and 3 add the ranks' sums of each micro-batch, stages 0 and 1
 * each rank's micro-batches first: the same sum in another association, equal to rounding. Against one process
 * with {@code --micro-batches 2} the losses agree to rounding, not bit for bit: one process accumulates micro-batch 2's gradient into Param.grad element by
 * element on top of micro-batch 1's ({@code bias.grad += dy[n]} row by row, the embedding's scatter-add), while
 * the 2 ranks each compute a whole gradient and add the two once, a different association of the same sum. That
 * is the only difference: one process that sums whole micro-batch gradients ({@link #stash}, the trainer's test
 * hook) gives the 2 ranks' losses to the bit, because a sum of two values does not depend on the order and the
 * scalings by 1/2 are exact (tested). For N &gt; 2 nothing is promised to the bit across different N: the N-term
 * sum's association is Open MPI's choice (fixed for a given N, message size and algorithm, not necessarily left
 * to right, and ZeRO-2's smaller messages may pick another algorithm than ZeRO-0/1's); runs with the same N,
 * stage and thread count repeat bit for bit, and the rest agree to rounding.
 *
 * <p><b>Rank 0 speaks.</b> Only rank 0 prints, writes the log and the checkpoints; a checkpoint holds the
 * optimizer state gathered from all shards ({@link ShardedAdamW#gatherState}), so it resumes on any number of
 * ranks and loads in a single process; under ZeRO-3 the weights are gathered for the save too. All ranks keep
 * identical weights; {@link #checkWeights} compares their hashes at each evaluation and stops the run if they
 * differ (not under ZeRO-3: no rank holds a replica to compare).
 *
 * <p>Not thread-safe: one per process, used by the training thread. Every method that communicates is a collective
 * (all ranks call it in the same order), as in {@link ShardedAdamW}.
 */
public final class DataParallel implements AutoCloseable {
    /** Where non-root ranks print: nowhere. */
    static final PrintStream SILENT = new PrintStream(OutputStream.nullOutputStream());

    private final Mpi mpi;
    private final int rank;
    private final int ranks;
    private final int zero;
    private final int batch;
    private final int microBatches;
    private final boolean overlap;
    private ShardedAdamW opt;
    /** ZeRO-0 with --overlap: the model's layer hook, and its start/test time in training steps. */
    private OverlapLayers overlapLayers;
    private long overlapNanos;
    private long overlapMark;
    /** Wall time in the gradient reduction, and in the small collectives (loss, overflow flag, norm), ns. */
    private long reduceNanos;
    private long smallNanos;
    /** Wall time in {@link #step}: the shard's AdamW update and the weights' all-gather, ns. */
    private long stepNanos;
    /** Stages 2, 3: the model's layer hook. */
    private ZeroLayers layers;
    /** Stages 2, 3: its all-gather and reduce-scatter time in training steps (not evaluations), and at beginStep. */
    private long layerGatherNanos;
    private long layerReduceNanos;
    private long gatherMark;
    private long reduceMark;

    private DataParallel(Mpi mpi, TrainSettings s) {
        this.mpi = mpi;
        this.rank = mpi.rank();
        this.ranks = mpi.size();
        this.zero = s.zero();
        this.batch = s.batch();
        this.microBatches = s.microBatches();
        this.overlap = s.overlap();
        if (batch % ((long) ranks * microBatches) != 0) {
            throw new IllegalArgumentException("--batch " + batch + " must be a multiple of ranks × --micro-batches"
                    + " = " + ranks + " × " + microBatches + " = " + ranks * microBatches + " (each rank takes "
                    + "batch/ranks sequences in --micro-batches equal parts): change --batch or --micro-batches");
        }
    }

    /**
     * This process's rank of the run when it was started by {@code mpirun} (initialises MPI), else null: one
     * process, the plain trainer. A collective when not null.
     */
    static DataParallel join(TrainSettings s) {
        if (!Mpi.launchedByMpirun()) {
            return null;
        }
        return new DataParallel(Mpi.init(), s);
    }

    /** This rank, {@code 0 ≤ rank < ranks}. */
    public int rank() {
        return rank;
    }

    /** N, the number of ranks. */
    public int ranks() {
        return ranks;
    }

    /** Whether this rank prints, logs and saves. */
    public boolean isRoot() {
        return rank == 0;
    }

    /** Sequences per micro-batch on each rank: B/(N·M). */
    int microBatchSize() {
        return batch / (ranks * microBatches);
    }

    /** The first sequence of the global batch this rank takes: r·B/N. */
    int firstSequence() {
        return rank * (batch / ranks);
    }

    /** The header line: ranks, ZeRO stage, each rank's share. */
    String describe() {
        return String.format(Locale.ROOT, "parallel:  %d ranks (Open MPI), ZeRO-%d; each rank takes %d of the %d"
                        + " sequences per step in %d micro-batch%s of %d", ranks, zero, batch / ranks, batch,
                microBatches, microBatches == 1 ? "" : "es", microBatchSize())
                + (overlap ? "; each layer's all-reduce overlaps the backward of the earlier layers" : "");
    }

    /** The ZeRO stage. */
    int zero() {
        return zero;
    }

    /**
     * Whether backward communicates layer by layer (ZeRO-2/3, or ZeRO-0 with --overlap): then each layer's
     * gradient is finished by the hook, every rank runs every backward, and the whole-gradient aids are off.
     */
    boolean layered() {
        return zero >= 2 || overlap;
    }

    /**
     * Collective: builds the sharded optimizer over {@code model}'s parameters with {@code hyper}'s hyperparameters
     * (rank 0's weights are broadcast to all; stages 2 and 3 release the gradients, 3 the weights too, and give the
     * model its {@link LayerHook}, which hands each layer's gradient to {@code finish} before its reduce-scatter) and
     * takes this rank's shard of {@code hyper}'s state when it has one (a resumed run). Returns an AdamW with the
     * same hyperparameters and no state, for the caller to keep instead of {@code hyper} (the full state is not
     * kept on any rank).
     */
    AdamW attach(Gpt model, AdamW hyper, Consumer<List<Param>> finish) {
        opt = zero <= 1 ? new ShardedAdamW(mpi, zero, hyper, model.params())
                : ShardedAdamW.grouped(mpi, zero, hyper, model.paramGroups());
        if (zero >= 2) {
            layers = new ZeroLayers(opt, model, finish);
            model.setLayerHook(layers);
        } else if (overlap) {
            opt.overlapLayers(model.paramGroups());
            overlapLayers = new OverlapLayers(opt, model, finish, microBatches);
            model.setLayerHook(overlapLayers);
        }
        if (!hyper.state().isEmpty()) {
            opt.loadState(hyper.state(), hyper.stepCount());
        }
        return new AdamW(hyper.beta1(), hyper.beta2(), hyper.eps(), hyper.weightDecay());
    }

    /** Local: the start of a step (its traffic is counted from here). */
    void beginStep() {
        opt.beginStep();
        if (overlapLayers != null) {
            overlapLayers.beginStep();
            overlapMark = overlapLayers.startNanos();
        }
        if (layers != null) {
            gatherMark = layers.gatherNanos();
            reduceMark = layers.reduceNanos();
        }
    }

    /**
     * Collective, stage 3: every rank holds the whole weights (FP32 masters and working copies), for a checkpoint or
     * the final sample; {@link #releaseAllWeights} undoes it. Other stages: nothing to do.
     */
    void gatherAllWeights() {
        opt.gatherAllWeights();
    }

    /** Stage 3: releases what {@link #gatherAllWeights} gathered. Other stages: nothing. */
    void releaseAllWeights() {
        opt.releaseAllWeights();
    }

    /** The sharded optimizer (after {@link #attach}). */
    public ShardedAdamW optimizer() {
        return opt;
    }

    /** The MPI world. */
    public Mpi mpi() {
        return mpi;
    }

    /** Collective: the mean over ranks of each rank's mean loss (NaN if any rank's is). */
    double meanLoss(double local) {
        long t = System.nanoTime();
        double[] l = {local};
        mpi.allReduce(l, 0, 1, Mpi.Op.SUM);
        if (!Double.isFinite(l[0]) && overlapLayers != null) {
            // the step stops on every rank (the same mean everywhere) without reducing: complete the started
            // all-reduces first, so that no request is left open at MPI_Finalize
            opt.drainLayers();
        }
        smallNanos += System.nanoTime() - t;
        return l[0] / ranks;
    }

    /**
     * Collective: every rank's Param.grad reduced to this rank's shard of the mean gradient (stages 2, 3: the layers
     * were reduced during backward; this finishes the mean).
     */
    void reduceGradients() {
        long t = System.nanoTime();
        opt.reduceGradients();
        reduceNanos += System.nanoTime() - t;
    }

    /** Collective: unscale and check the shard; any rank's overflow is everyone's (see ShardedAdamW). */
    boolean unscaleAndCheck(LossScaler scaler) {
        long t = System.nanoTime();
        boolean ok = opt.unscaleAndCheck(scaler);
        smallNanos += System.nanoTime() - t;
        return ok;
    }

    /** Collective: global-norm clipping over all ranks' shards; returns the norm before clipping. */
    double clipGlobalNorm(double max) {
        long t = System.nanoTime();
        double norm = opt.clipGlobalNorm(max);
        smallNanos += System.nanoTime() - t;
        return norm;
    }

    /** Collective: the AdamW update of each shard, then the weights all-gathered into every rank. */
    void step(float lr) {
        long t = System.nanoTime();
        opt.step(lr);
        stepNanos += System.nanoTime() - t;
        if (overlapLayers != null) {
            overlapNanos += overlapLayers.startNanos() - overlapMark;
        }
        if (layers != null) {
            layerGatherNanos += layers.gatherNanos() - gatherMark;
            layerReduceNanos += layers.reduceNanos() - reduceMark;
        }
    }

    /**
     * One line: of {@code trainSeconds} of training (this rank), the wall time in the gradient reduction, in the
     * small collectives and in the update with the weights' all-gather. Collective waits include waiting for the
     * slowest rank, so on a loaded machine they measure imbalance as well as communication.
     */
    String timeSummary(double trainSeconds) {
        double red = (reduceNanos + layerReduceNanos + overlapNanos) / 1e9;
        double small = smallNanos / 1e9;
        double step = stepNanos / 1e9;
        double gather = layerGatherNanos / 1e9;
        return String.format(Locale.ROOT, "parallel:  rank %d: %.2f s of %.2f s training in the gradient %s (%.1f%%),"
                        + "%s %.2f s in the loss/norm/overflow collectives (%.1f%%), %.2f s in the AdamW update%s"
                        + " (%.1f%%)",
                rank, red, trainSeconds, zero == 0 ? (overlap ? String.format(Locale.ROOT, "all-reduces"
                        + " (overlapped: %.2f s starting them in backward, %.2f s waiting after it)",
                        overlapNanos / 1e9, reduceNanos / 1e9) : "all-reduce") : zero == 1 ? "reduce-scatter"
                        : "reduce-scatters (layer by layer, in backward)", 100 * red / trainSeconds,
                zero == 3 ? String.format(Locale.ROOT, " %.2f s in the layers' weight all-gathers (%.1f%%),", gather,
                        100 * gather / trainSeconds) : "", small,
                100 * small / trainSeconds, step, zero == 1 || zero == 2 ? " and the weights' all-gather" : "",
                100 * step / trainSeconds);
    }

    /** Collective: stops the run (on every rank) if the ranks' weights differ after step {@code step}. */
    void checkWeights(long step) {
        if (!opt.weightsIdenticalOnAllRanks()) {
            throw new UserException("the " + ranks + " ranks' weights differ after step " + step + " (they must stay"
                    + " identical in data parallelism): a rank computed differently (a different build, JDK or"
                    + " --threads on some machine?). Stopped; resume from the last checkpoint on identical machines");
        }
    }

    /**
     * Collective: an AdamW holding the whole optimizer state gathered from all shards and the step count, for a
     * checkpoint that loads in any number of ranks or in one process. Allocates the full state (8·Ψ bytes) on
     * every rank until the caller drops it.
     */
    AdamW gatheredOptimizer(AdamW hyper, List<Param> params) {
        AdamW full = new AdamW(hyper.beta1(), hyper.beta2(), hyper.eps(), hyper.weightDecay());
        full.load(params, opt.gatherState(), opt.stepCount());
        return full;
    }

    /** Frees the optimizer's buffers; MPI itself is finalized by {@link #finish()}. */
    @Override
    public void close() {
        if (opt != null) {
            opt.close();
            opt = null;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // one process summing micro-batches as the ranks do (Trainer.sumMicroBatchesWhole, for the equivalence test)

    /**
     * Moves every Param.grad into {@code kept} (allocated on first use, [params][size]) and zeroes Param.grad, so
     * that the next backward computes one micro-batch's gradient alone. Returns {@code kept}.
     */
    static float[][] stash(List<Param> params, float[][] kept) {
        float[][] k = kept.length == params.size() ? kept : new float[params.size()][];
        for (int i = 0; i < k.length; i++) {
            float[] g = params.get(i).grad;
            if (k[i] == null) {
                k[i] = new float[g.length];
            }
            System.arraycopy(g, 0, k[i], 0, g.length);
            java.util.Arrays.fill(g, 0f);
        }
        return k;
    }

    /** {@code grad = kept + grad}, elementwise: the earlier micro-batches' sum plus this one's, one addition. */
    static void addStashed(List<Param> params, float[][] kept) {
        for (int i = 0; i < kept.length; i++) {
            float[] g = params.get(i).grad;
            float[] k = kept[i];
            for (int j = 0; j < g.length; j++) {
                g[j] = k[j] + g[j];
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // starting the ranks

    /**
     * Default {@code --threads} of a rank started by mpirun: this machine's cores divided among the ranks on it
     * ({@code OMPI_COMM_WORLD_LOCAL_SIZE}), at least 1.
     */
    public static int defaultThreads() {
        int local = 1;
        try {
            local = Integer.parseInt(System.getenv().getOrDefault("OMPI_COMM_WORLD_LOCAL_SIZE", "1"));
        } catch (NumberFormatException e) {
            // keep 1
        }
        return Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, local));
    }

    /** MPI_Finalize if this process joined a run; call once, after the last collective. */
    public static void finish() {
        if (Mpi.launchedByMpirun()) {
            Mpi.init().close();
        }
    }

    /**
     * {@code sixpd train --ranks N ...}: runs {@code mpirun -np N} on this machine with the same command line minus
     * {@code --ranks} ({@link MpiRun}'s container-safe settings; this JVM's java, class path and flags), the ranks'
     * output on this process's. Returns mpirun's exit code.
     *
     * @param args the command line after the program name ({@code train ...}), {@code --ranks} included or not
     */
    public static int launch(int ranks, List<String> args) throws IOException, InterruptedException {
        if (ranks < 1) {
            throw new IllegalArgumentException("--ranks must be >= 1, got " + ranks);
        }
        if (Mpi.launchedByMpirun()) {
            throw new UserException("--ranks starts mpirun itself: leave it out when running under mpirun");
        }
        Path mpirun = MpiRun.mpirun().orElseThrow(() -> new UserException("--ranks needs Open MPI's mpirun, which"
                + " is not on the PATH: install Open MPI (Debian/Ubuntu: apt-get install " + Mpi.PACKAGES + ")"));
        if (Mpi.findLibrary().isEmpty()) {
            throw new UserException(Mpi.MISSING);
        }
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--ranks")) {
                i++;
            } else if (!a.startsWith("--ranks=")) {
                rest.add(a);
            }
        }
        // this JVM's flags (the launcher's), minus those MpiRun adds itself
        List<String> flags = new ArrayList<>();
        List<String> input = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (int i = 0; i < input.size(); i++) {
            String f = input.get(i);
            if (f.equals("--add-modules") && i + 1 < input.size() && input.get(i + 1).equals("jdk.incubator.vector")) {
                i++;
            } else if (!MpiRun.JVM_FLAGS.contains(f) && !f.equals("--add-modules=jdk.incubator.vector")) {
                flags.add(f);
            }
        }
        ProcessBuilder pb = new ProcessBuilder(MpiRun.command(mpirun, ranks,
                MpiRun.javaCommand(flags, "dev.sixpd.nn.cli.Main", rest))).inheritIO();
        pb.environment().putAll(MpiRun.environment());
        Process p = pb.start();
        return p.waitFor();
    }
}
