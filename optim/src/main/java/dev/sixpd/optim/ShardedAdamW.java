package dev.sixpd.optim;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.tensor.Half;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Data-parallel AdamW over the ranks of an {@link Mpi} world, with ZeRO's sharding (Rajbhandari et al. 2020)
 * of the optimizer state (stage 1), of the gradients (stage 2) and of the weights themselves (stage 3); stage 0 is
 * plain data parallelism.
 *
 * <p><b>Layout.</b> The parameters come in groups (a model's layers: {@code Gpt.paramGroups()}; stages 0 and 1 join
 * them into one). Each group of Ψ_g elements (its parameters end to end) is padded with zeros to N·S_g,
 * S_g = ⌈Ψ_g/N⌉, and rank r owns its slice {@code [r·S_g, (r+1)·S_g)}; this rank's shard is its slices of every
 * group end to end, S = Σ S_g elements. Of those it keeps the FP32 masters, the AdamW moments m and v and the mean
 * gradient; the other ranks' state is never allocated. (Stage 0: one group, one "shard" of Ψ, on every rank.)
 * A group is the unit of communication: one reduce-scatter of its gradients, one all-gather of its weights, through
 * a staging buffer of the largest group's N·S_g floats — the bucket.
 *
 * <p><b>One step</b> (every rank):
 * <pre>
 *   stage 0, 1: backward fills every Param.grad; reduceGradients() all-reduces (0) or reduce-scatters (1) the
 *               one group
 *   stage 0 overlapped (overlapLayers): startLayer(l) after layer l's backward starts its non-blocking
 *               all-reduce from an off-heap bucket, progress() tests between layers; reduceGradients() waits
 *   stage 2, 3: backward holds one layer's gradient at a time: acquireGradients(g) before the layer's backward,
 *               reduceGroup(g) after it reduce-scatters the group into the shard (adds, from the second
 *               micro-batch on) and releases the layer's gradient; reduceGradients() then finishes
 *   stage 3:    also gatherGroup(g) before the layer's forward and again before its backward (the weights of
 *               all ranks' slices, rounded to the working dtype), releaseGroup(g) after
 *   then        g = sum · (1/N), the mean over ranks (exact for N a power of two); unscale, overflow check (any
 *               rank's overflow skips the step on all), global-norm clipping (the shards' Σg², all-gathered)
 *   step(lr)    AdamW on the shard; stages 1, 2: all-gather every group's updated masters into Param.data
 *               (stage 3 does not: the next forward gathers them)
 * </pre>
 * Since the update is elementwise and every rank applies {@link AdamW#update} to its shard with the same
 * hyperparameters, the weights equal those of one {@link AdamW} fed the mean gradient, bit for bit, whenever the
 * mean is: with 2 ranks a sum is one addition (order-free), in any layout; for N &gt; 2 Open MPI chooses the
 * association of the N terms (fixed for a given N and size, but maybe not left to right, and different message
 * sizes may choose different algorithms). With several micro-batches, stages 2 and 3 sum each micro-batch's
 * reduced gradient into the shard (the ranks' sum first), stages 0 and 1 each rank's micro-batches first: the same
 * sum in another association, equal to rounding. The global norm is the single-process {@link Grads#globalNorm}'s
 * up to the association of the double sum (about 1e-16 relative).
 *
 * <p><b>Memory and traffic.</b> {@link #memory()} measures each rank's bytes per category beside the ZeRO paper's
 * formulas: the layers' gradients (stages 2, 3) and gathered weights (stage 3) come from pools of arrays that only
 * grow, so their size is the peak held at once; {@link #lastStepBytesSent()} is what this rank sent in the last
 * step under the ring model of {@link Mpi#bytesSent()}, beside {@link #trafficFormulaBytes}: 2·(N−1)/N·4Ψ for
 * stages 0–2, 3·(N−1)/N·4Ψ for 3.
 *
 * <p>Ledger: FLOPs are charged to {@code Ledger.Phase.OPTIMIZER} (set and restored), kind {@code ELEMENTWISE}, for
 * the shard's elements only: the mean 1 FLOP per element, the norm 2, AdamW 14 (+2 with weight decay). Not
 * thread-safe; every method that communicates is a collective: all ranks call it in the same order. Threads inside
 * the update as {@link AdamW}; results do not depend on the thread count.
 */
public final class ShardedAdamW implements AutoCloseable {
    private final Mpi mpi;
    private final int stage;
    private final AdamW hyper;
    /** Every parameter, group after group. */
    private final List<Param> params;
    private final long psi;
    private final int ranks;
    /** 1 for stage 0, N otherwise. */
    private final int shards;
    private final int rank;

    // the groups: members (indices into params), Ψ_g, S_g, offset of this rank's slice in the shard
    private final int[][] members;
    private final long[] groupSize;
    private final int[] groupShard;
    private final int[] groupAt;
    /** Offset of params[k] inside its group. */
    private final long[] paramOffset;
    /** S: elements of this rank's shard (padding included). */
    private final int shard;
    /** The bucket: the largest S_g. */
    private final int bucket;

    // this rank's shard, [S] each; padding elements stay 0
    private final float[] master;
    private final float[] m;
    private final float[] v;
    private final float[] grad;

    // the parameters' pieces inside the shard: param index, first element in the param, shard offset, length
    private final int[] pieceParam;
    private final int[] pieceFrom;
    private final int[] pieceAt;
    private final int[] pieceLen;

    private final Arena arena = Arena.ofShared();
    /** The staging buffer: N·bucket floats (stage 0: the one group, Ψ). */
    private final MemorySegment flat;
    /** What a reduce-scatter receives: [bucket]; stage 0: unused. */
    private final MemorySegment recv;
    /** Stages 2, 3: the layers' gradient arrays; stage 3: their gathered weights. */
    private final ArrayPool gradPool = new ArrayPool();
    private final ArrayPool weightPool = new ArrayPool();

    /** Stage 0 with {@link #overlapLayers}: each layer's params (indices into params), bucket offsets, requests. */
    private int[][] layerMembers;
    private long[] layerAt;
    private long[] layerSize;
    private MemorySegment layerBuckets = MemorySegment.NULL;
    private Mpi.Request[] pending;
    private int started;

    private long steps;
    private boolean reduced;
    /** Groups reduced into the shard since the last reduceGradients() (the next one adds). */
    private final boolean[] groupReduced;
    private boolean stepOpen;
    private long sentAtStart;
    private long lastStepBytes;

    /** All of {@code params} as one group (a model without layer structure). */
    public ShardedAdamW(Mpi mpi, int stage, AdamW hyper, List<Param> params) {
        this(stage, mpi, hyper, List.of(params));
    }

    /**
     * A collective: every rank builds it with the same groups (names, shapes, order). Broadcasts rank 0's weights to
     * every rank (so all start identical) and copies this rank's shard of them into its masters; stages 2 and 3
     * then release every Param.grad, stage 3 every Param.data too (see {@link Param#holdGathered}).
     *
     * @param hyper  the AdamW (or Adam with L2) whose hyperparameters are used; its own state is not touched
     * @param groups the parameters in groups, the units of communication of stages 2 and 3 (one per layer);
     *               stages 0 and 1 join them into one
     */
    public static ShardedAdamW grouped(Mpi mpi, int stage, AdamW hyper, List<List<Param>> groups) {
        return new ShardedAdamW(stage, mpi, hyper, groups);
    }

    private ShardedAdamW(int stage, Mpi mpi, AdamW hyper, List<List<Param>> groupsIn) {
        if (stage < 0 || stage > 3) {
            throw new IllegalArgumentException("ZeRO stage must be 0, 1, 2 or 3, got " + stage);
        }
        this.mpi = mpi;
        this.stage = stage;
        this.hyper = hyper;
        // frozen parameters have no gradient and no state: the flat space holds the trainable ones only
        List<List<Param>> groups = new ArrayList<>();
        for (List<Param> g : groupsIn) {
            List<Param> t = Param.trainable(g);
            if (!t.isEmpty()) {
                groups.add(t);
            }
        }
        if (stage <= 1) {
            List<Param> all = new ArrayList<>();
            groups.forEach(all::addAll);
            groups = List.of(all);
        }
        List<Param> ps = new ArrayList<>();
        groups.forEach(ps::addAll);
        this.params = List.copyOf(ps);
        Set<String> names = new HashSet<>();
        for (Param p : params) {
            if (!names.add(p.name)) {
                throw new IllegalArgumentException("two parameters are named " + p.name + ": names must be unique");
            }
        }
        this.ranks = mpi.size();
        this.rank = mpi.rank();
        this.shards = stage == 0 ? 1 : ranks;
        int G = groups.size();
        members = new int[G][];
        groupSize = new long[G];
        groupShard = new int[G];
        groupAt = new int[G];
        paramOffset = new long[params.size()];
        long total = 0;
        long at = 0;
        int maxS = 1;
        int k = 0;
        for (int g = 0; g < G; g++) {
            List<Param> gp = groups.get(g);
            members[g] = new int[gp.size()];
            long off = 0;
            for (int i = 0; i < gp.size(); i++, k++) {
                members[g][i] = k;
                paramOffset[k] = off;
                off += gp.get(i).size();
            }
            groupSize[g] = off;
            long sg = (off + shards - 1) / shards;
            if (sg * shards > Integer.MAX_VALUE - 16 || at + sg > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("a group of " + off + " parameters in " + shards + " shards"
                        + " needs more elements than a Java array holds; use more ranks");
            }
            groupShard[g] = (int) sg;
            groupAt[g] = (int) at;
            at += sg;
            total += off;
            maxS = (int) Math.max(maxS, sg);
        }
        this.psi = total;
        this.shard = (int) at;
        this.bucket = maxS;
        this.groupReduced = new boolean[G];
        this.master = new float[shard];
        this.m = new float[shard];
        this.v = new float[shard];
        this.grad = new float[shard];

        // the parameters' pieces inside this rank's slice of each group
        List<int[]> pieces = new ArrayList<>();
        for (int g = 0; g < G; g++) {
            long lo = (long) (stage == 0 ? 0 : rank) * groupShard[g];
            long hi = Math.min(groupSize[g], lo + groupShard[g]);
            for (int q : members[g]) {
                long a = Math.max(lo, paramOffset[q]);
                long b = Math.min(hi, paramOffset[q] + params.get(q).size());
                if (a < b) {
                    pieces.add(new int[] {q, (int) (a - paramOffset[q]), (int) (groupAt[g] + a - lo), (int) (b - a)});
                }
            }
        }
        pieceParam = new int[pieces.size()];
        pieceFrom = new int[pieces.size()];
        pieceAt = new int[pieces.size()];
        pieceLen = new int[pieces.size()];
        for (int i = 0; i < pieces.size(); i++) {
            pieceParam[i] = pieces.get(i)[0];
            pieceFrom[i] = pieces.get(i)[1];
            pieceAt[i] = pieces.get(i)[2];
            pieceLen[i] = pieces.get(i)[3];
        }

        flat = arena.allocate(4L * shards * bucket, 64);
        recv = stage == 0 ? MemorySegment.NULL : arena.allocate(4L * bucket, 64);

        for (Param p : params) {
            if (p.data.length != p.size()) {
                throw new IllegalArgumentException(p.name + "'s weights are released (a ZeRO-3 optimizer's): gather"
                        + " them (gatherAllWeights) before building another optimizer over them");
            }
            if (stage < 2 && p.grad.length != p.size()) {
                p.holdGrad(new float[p.size()]); // released by a ZeRO-2/3 optimizer before
            }
            mpi.broadcast(p.data, 0, p.size(), 0);
            p.syncWorking();
        }
        copyWeightsToMasters();
        if (stage >= 2) {
            for (Param p : params) {
                p.releaseGrad();
            }
        }
        if (stage == 3) {
            for (Param p : params) {
                p.releaseValues();
            }
        }
    }

    /** The ZeRO stage: 0 (plain data parallelism), 1 (optimizer state sharded), 2 (gradients too), 3 (weights too). */
    public int stage() {
        return stage;
    }

    /** Ψ: parameter elements in all. */
    public long parameters() {
        return psi;
    }

    /** S: elements of this rank's shard (Ψ for stage 0), padding included. */
    public int shardElements() {
        return shard;
    }

    /** The groups (one per layer for stages 2 and 3; one for stages 0 and 1). */
    public int groups() {
        return members.length;
    }

    /** Bucket: elements per rank of the largest group's reduce-scatter / all-gather (max S_g). */
    public int bucketElements() {
        return bucket;
    }

    /** Steps taken (Adam's t after the last step). */
    public long stepCount() {
        return steps;
    }

    /**
     * FLOPs of one {@link #step}'s AdamW update on this rank's shard, as charged to the ledger:
     * {@link AdamW#FLOPS_PER_ELEMENT} per element, plus {@link AdamW#DECAY_FLOPS_PER_ELEMENT} where weight decay
     * applies; summed over the ranks of stages 1–3 it is one unsharded AdamW step's (the shards partition it).
     */
    public long updateFlops() {
        long f = 0;
        for (int i = 0; i < pieceParam.length; i++) {
            boolean decays = params.get(pieceParam[i]).decay && hyper.weightDecay() != 0f;
            f += (long) pieceLen[i] * (AdamW.FLOPS_PER_ELEMENT + (decays ? AdamW.DECAY_FLOPS_PER_ELEMENT : 0));
        }
        return f;
    }

    /** This rank's shard of the mean gradient after {@link #reduceGradients}, [S]; live, do not keep. */
    public float[] gradientShard() {
        return grad;
    }

    // ---------------------------------------------------------------------------------------------------------
    // one layer at a time (stages 2 and 3)

    /** Starts a step's traffic count (the step's first collective starts it otherwise). Local. */
    public void beginStep() {
        stepOpen = true;
        sentAtStart = mpi.bytesSent();
    }

    private void touch() {
        if (!stepOpen) {
            beginStep();
        }
    }

    /** Stages 2, 3, local: group {@code g}'s parameters get zeroed gradient arrays (from the pool). */
    public void acquireGradients(int g) {
        requireStage(2, "acquireGradients");
        for (int q : members[g]) {
            Param p = params.get(q);
            p.holdGrad(gradPool.takeZeroed(p.size()));
        }
    }

    /**
     * Collective: sums every rank's gradient of group {@code g} and keeps this rank's slice in the shard (stage 0:
     * all of it): into it the first time in a step, added to it after (micro-batches). Stages 2, 3 then release the
     * group's gradient arrays. Param.grad is read, not changed.
     */
    public void reduceGroup(int g) {
        touch();
        int sg = groupShard[g];
        packGradients(g, (long) shards * sg);
        if (stage == 0) {
            mpi.allReduce(null, flat, groupSize[g], Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            intoShard(flat, g);
        } else {
            mpi.reduceScatterBlock(flat, recv, sg, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            intoShard(recv, g);
        }
        groupReduced[g] = true;
        if (stage >= 2) {
            for (int q : members[g]) {
                Param p = params.get(q);
                gradPool.give(p.grad);
                p.releaseGrad();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // stage 0, overlapped: each layer's all-reduce starts when its backward ends (non-blocking)

    /**
     * Stage 0, local: communicate layer by layer with non-blocking all-reduces ({@link #startLayer}) instead of one
     * all-reduce in {@link #reduceGradients}. {@code layers} is a partition of the parameters (a model's
     * {@code paramGroups()}); each layer gets an off-heap bucket of its Ψ_l floats, a slice of the staging buffer
     * (Ψ floats at stage 0: no memory more). The shard's layout stays the one of all parameters in order, so the mean
     * gradient, the norm and the update are those of the blocking run, bit for bit whenever the sum is (2 ranks).
     */
    public void overlapLayers(List<List<Param>> layers) {
        if (stage != 0) {
            throw new IllegalArgumentException("overlapped all-reduces are for ZeRO stage 0; stage " + stage
                    + " reduce-scatters (stage 2 already does it layer by layer)");
        }
        Map<Param, Integer> index = new HashMap<>();
        for (int k = 0; k < params.size(); k++) {
            index.put(params.get(k), k);
        }
        boolean[] seen = new boolean[params.size()];
        layerMembers = new int[layers.size()][];
        layerAt = new long[layers.size()];
        layerSize = new long[layers.size()];
        long at = 0;
        for (int l = 0; l < layers.size(); l++) {
            List<Param> lp = layers.get(l);
            layerMembers[l] = new int[lp.size()];
            layerAt[l] = at;
            for (int i = 0; i < lp.size(); i++) {
                Integer k = index.get(lp.get(i));
                if (k == null || seen[k]) {
                    throw new IllegalArgumentException("layer " + l + "'s parameter " + lp.get(i).name + " is "
                            + (k == null ? "not one of the optimizer's" : "in two layers") + ": pass a partition of"
                            + " the parameters (model.paramGroups())");
                }
                seen[k] = true;
                layerMembers[l][i] = k;
                layerSize[l] += params.get(k).size();
            }
            at += layerSize[l];
        }
        if (at != psi) {
            throw new IllegalArgumentException("the layers hold " + at + " of the " + psi + " parameter elements:"
                    + " pass a partition of the parameters (model.paramGroups())");
        }
        layerBuckets = flat; // stage 0's staging buffer is Ψ floats: the layers' buckets end to end
        pending = new Mpi.Request[layers.size()];
    }

    /** Whether {@link #overlapLayers} was called. */
    public boolean overlapped() {
        return pending != null;
    }

    /**
     * Collective, stage 0 overlapped: copies layer {@code l}'s gradients (Param.grad, complete: the last
     * micro-batch's backward of the layer has ended) into its off-heap bucket and starts their all-reduce
     * ({@code MPI_Iallreduce}, in place); {@link #reduceGradients} waits for it. Param.grad is read, not changed.
     */
    public void startLayer(int l) {
        if (pending == null) {
            throw new IllegalStateException("call overlapLayers(...) before startLayer");
        }
        if (pending[l] != null) {
            throw new IllegalStateException("layer " + l + "'s all-reduce was started twice in one step: start it"
                    + " after the last micro-batch's backward only");
        }
        touch();
        long at = layerAt[l];
        for (int q : layerMembers[l]) {
            Param p = params.get(q);
            MemorySegment.copy(p.grad, 0, layerBuckets, ValueLayout.JAVA_FLOAT, 4 * at, p.size());
            at += p.size();
        }
        pending[l] = mpi.iallReduce(null, layerBuckets.asSlice(4 * layerAt[l], 4 * layerSize[l]), layerSize[l],
                Mpi.Datatype.FLOAT, Mpi.Op.SUM);
        started++;
    }

    /**
     * Local: one {@code MPI_Test} on the oldest pending all-reduce. Open MPI advances non-blocking collectives only
     * inside MPI calls, so calling this between layers lets the transfers move while backward computes.
     */
    public void progress() {
        if (pending == null) {
            return;
        }
        for (Mpi.Request r : pending) {
            if (r != null && !r.done()) {
                r.test();
                return;
            }
        }
    }

    /** Waits for every started layer's all-reduce and moves each sum into the gradient shard (stage 0: all). */
    private void finishLayers() {
        if (started == 0) {
            return;
        }
        if (started != pending.length) {
            drainLayers();
            throw new IllegalStateException("only " + started + " of " + pending.length + " layers' all-reduces were"
                    + " started before reduceGradients: start every layer (the hook's afterBackward) or none");
        }
        mpi.waitAll(Arrays.asList(pending));
        for (int l = 0; l < pending.length; l++) {
            long at = layerAt[l];
            for (int q : layerMembers[l]) {
                int n = params.get(q).size();
                MemorySegment.copy(layerBuckets, ValueLayout.JAVA_FLOAT, 4 * at, grad, (int) paramOffset[q], n);
                at += n;
            }
        }
        Arrays.fill(pending, null);
        started = 0;
        groupReduced[0] = true;
    }

    /** Waits for the started all-reduces and drops their sums (a step that stops; before freeing the buckets). */
    public void drainLayers() {
        if (pending == null || started == 0) {
            return;
        }
        List<Mpi.Request> open = new ArrayList<>();
        for (Mpi.Request r : pending) {
            if (r != null) {
                open.add(r);
            }
        }
        mpi.waitAll(open);
        Arrays.fill(pending, null);
        started = 0;
    }

    /** shard[groupAt[g] + i] (+)= seg[i] for i &lt; S_g: set the first time in a step, added later. */
    private void intoShard(MemorySegment seg, int g) {
        int sg = groupShard[g];
        int at = groupAt[g];
        if (!groupReduced[g]) {
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, 0, grad, at, sg);
            return;
        }
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            Ledger.add(Ledger.Kind.ELEMENTWISE, sg, 12L * sg);
        } finally {
            Ledger.setPhase(old);
        }
        for (int i = 0; i < sg; i++) {
            grad[at + i] += seg.getAtIndex(ValueLayout.JAVA_FLOAT, i);
        }
    }

    /**
     * Stage 3, collective: every rank's slice of group {@code g}'s masters all-gathered into arrays from the pool,
     * rounded to each parameter's working dtype, which the parameters then compute with ({@link Param#holdGathered}).
     */
    public void gatherGroup(int g) {
        requireStage(3, "gatherGroup");
        touch();
        gatherMasters(g);
        for (int q : members[g]) {
            Param p = params.get(q);
            float[] a = weightPool.take(p.size());
            MemorySegment.copy(flat, ValueLayout.JAVA_FLOAT, 4 * paramOffset[q], a, 0, p.size());
            Half.roundTo(p.workingDtype(), a, 0, a.length, false);
            p.holdGathered(a);
        }
    }

    /** Stage 3, local: group {@code g}'s gathered weights go back to the pool. */
    public void releaseGroup(int g) {
        requireStage(3, "releaseGroup");
        for (int q : members[g]) {
            Param p = params.get(q);
            weightPool.give(p.data);
            p.releaseValues();
        }
    }

    /**
     * Stage 3, collective: every parameter holds its whole FP32 masters (fresh arrays outside the pools) and the
     * working copies rounded from them, for a checkpoint, an evaluation or a sample; {@link #releaseAllWeights}
     * undoes it. Other stages: nothing to do (the weights are whole).
     */
    public void gatherAllWeights() {
        if (stage != 3) {
            return;
        }
        for (int g = 0; g < members.length; g++) {
            gatherMasters(g);
            for (int q : members[g]) {
                Param p = params.get(q);
                float[] a = new float[p.size()];
                MemorySegment.copy(flat, ValueLayout.JAVA_FLOAT, 4 * paramOffset[q], a, 0, p.size());
                p.holdMasters(a);
            }
        }
    }

    /** Stage 3, local: releases what {@link #gatherAllWeights} gathered. Other stages: nothing. */
    public void releaseAllWeights() {
        if (stage != 3) {
            return;
        }
        for (Param p : params) {
            p.releaseValues();
        }
    }

    /** flat[0, N·S_g) = group g's masters, all ranks' slices in rank order (an all-gather). */
    private void gatherMasters(int g) {
        int sg = groupShard[g];
        MemorySegment.copy(master, groupAt[g], flat, ValueLayout.JAVA_FLOAT, 4L * rank * sg, sg);
        mpi.allGather(null, flat, sg, Mpi.Datatype.FLOAT);
    }

    private void requireStage(int min, String what) {
        if (stage < min) {
            throw new IllegalStateException(what + " is for ZeRO stage " + min + " and up, this is stage " + stage);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // gradients

    /**
     * Collective: reduces every group not yet reduced in this step ({@link #reduceGroup}; stages 0 and 1: the one
     * group, from every Param.grad), then {@code g = Σ · (1/N)}: this rank's shard of the mean gradient.
     */
    public void reduceGradients() {
        touch();
        finishLayers();
        for (int g = 0; g < members.length; g++) {
            if (!groupReduced[g]) {
                if (stage >= 2 && params.get(members[g].length > 0 ? members[g][0] : 0).grad.length == 0
                        && groupSize[g] > 0) {
                    throw new IllegalStateException("group " + g + " has no gradient: call acquireGradients("
                            + g + ") before its backward");
                }
                reduceGroup(g);
            }
        }
        Arrays.fill(groupReduced, false);
        // the mean over ranks: g = Σ · (1/N)
        if (ranks > 1) {
            scaleGradients(1f / ranks);
        }
        reduced = true;
    }

    /** {@code g *= s} on this rank's shard (1/micro-batches, 1/loss scale); 1 FLOP per shard element. Local. */
    public void scaleGradients(float s) {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            Ledger.add(Ledger.Kind.ELEMENTWISE, shard, 8L * shard);
            if (shard >= SlotOptimizer.PARALLEL_MIN) {
                Parallel.forRange(shard, SlotOptimizer.GRAIN, (from, to) -> Grads.scale(grad, from, to, s));
            } else {
                Grads.scale(grad, 0, shard, s);
            }
        } finally {
            Ledger.setPhase(old);
        }
    }

    /**
     * Collective: whether the mean gradient is finite on every rank's shard (all-reduce MAX of a 0/1 overflow
     * flag), so that with loss scaling any rank's overflow skips the step on all ranks.
     */
    public boolean allFinite() {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            Ledger.add(Ledger.Kind.ELEMENTWISE, shard, 4L * shard);
        } finally {
            Ledger.setPhase(old);
        }
        int[] overflow = {Grads.allFinite(grad, 0, shard) ? 0 : 1};
        if (stage != 0) {
            mpi.allReduce(overflow, 0, 1, Mpi.Op.MAX);
        }
        return overflow[0] == 0;
    }

    /**
     * Collective: {@link LossScaler#unscaleAndCheck} for the sharded gradient: {@code g *= 1/scale} on the shard
     * (skipped when the scale is 1), then {@link #allFinite()} (any rank's overflow is everyone's), then
     * {@code scaler.update(finite)}, so every rank's scaler moves the same way. Returns whether the step may be
     * applied; on false skip {@link #step} on every rank.
     */
    public boolean unscaleAndCheck(LossScaler scaler) {
        float scale = scaler.scale();
        if (scale != 1f) {
            scaleGradients(1f / scale);
        }
        boolean finite = allFinite();
        scaler.update(finite);
        return finite;
    }

    /**
     * Collective: the L2 norm of the whole mean gradient. Each rank sums the squares of its shard in double (blocks
     * of {@link Grads#NORM_BLOCK} elements in index order, block sums in order), the N sums are all-gathered and
     * added in rank order, so every rank gets the same bits, for any thread count. Infinite or NaN if any
     * gradient is. Ledger: 2 FLOPs per shard element.
     */
    public double globalNorm() {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            Ledger.add(Ledger.Kind.ELEMENTWISE, 2L * shard + 1, 4L * shard);
            int blocks = (shard + Grads.NORM_BLOCK - 1) / Grads.NORM_BLOCK;
            double[] partial = new double[blocks];
            Parallel.RangeBody body = (from, to) -> {
                for (int k = from; k < to; k++) {
                    partial[k] = Grads.sumSquares(grad, k * Grads.NORM_BLOCK,
                            Math.min(shard, (k + 1) * Grads.NORM_BLOCK));
                }
            };
            if (shard >= SlotOptimizer.PARALLEL_MIN) {
                Parallel.forRange(blocks, 1, body);
            } else {
                body.run(0, blocks);
            }
            double local = 0;
            for (double x : partial) {
                local += x;
            }
            if (stage == 0) {
                return Math.sqrt(local);
            }
            double[] all = new double[ranks];
            mpi.allGather(new double[] {local}, 0, all, 0, 1);
            double ss = 0;
            for (double x : all) {
                ss += x;
            }
            return Math.sqrt(ss);
        } finally {
            Ledger.setPhase(old);
        }
    }

    /**
     * Collective: global-norm clipping with {@link Grads#clipGlobalNorm}'s rule: when the norm exceeds
     * {@code maxNorm}, {@code g *= (float) (maxNorm / norm)}; a non-finite norm leaves g untouched; {@code maxNorm
     * <= 0} or infinite disables clipping. Returns the norm before clipping.
     */
    public double clipGlobalNorm(double maxNorm) {
        double norm = globalNorm();
        if (maxNorm > 0 && Double.isFinite(maxNorm) && Double.isFinite(norm) && norm > maxNorm) {
            scaleGradients((float) (maxNorm / norm));
        }
        return norm;
    }

    // ---------------------------------------------------------------------------------------------------------
    // the update

    /**
     * Collective: one AdamW step with learning rate {@code lr} on this rank's shard (the formula of {@link AdamW},
     * its kernel {@link AdamW#update}, weight decay per parameter as there), then the updated masters are
     * all-gathered into every {@link Param#data} and {@link Param#syncWorking()} refreshes the working copies.
     *
     * @throws IllegalStateException when {@link #reduceGradients()} was not called since the last step
     */
    public void step(float lr) {
        if (!Float.isFinite(lr)) {
            throw new IllegalArgumentException("learning rate must be finite, got " + lr);
        }
        if (!reduced) {
            throw new IllegalStateException("call reduceGradients() (after backward) before each step()");
        }
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            steps++;
            float c1 = AdamW.biasCorrection(hyper.beta1(), steps);
            float c2 = AdamW.biasCorrection(hyper.beta2(), steps);
            float b1 = hyper.beta1();
            float b2 = hyper.beta2();
            float eps = hyper.eps();
            for (int i = 0; i < pieceParam.length; i++) {
                Param p = params.get(pieceParam[i]);
                boolean decays = p.decay && hyper.weightDecay() != 0f;
                float l2 = decays && !hyper.decoupled() ? hyper.weightDecay() : 0f;
                float wd = decays && hyper.decoupled() ? hyper.weightDecay() : 0f;
                int from = pieceAt[i];
                int n = pieceLen[i];
                Ledger.add(Ledger.Kind.ELEMENTWISE,
                        (long) n * (AdamW.FLOPS_PER_ELEMENT + (decays ? AdamW.DECAY_FLOPS_PER_ELEMENT : 0)), 28L * n);
                if (n >= SlotOptimizer.PARALLEL_MIN) {
                    Parallel.forRange(n, SlotOptimizer.GRAIN, (a, b) -> AdamW.update(master, grad, m, v, from + a,
                            from + b, lr, b1, b2, eps, l2, wd, c1, c2));
                } else {
                    AdamW.update(master, grad, m, v, from, from + n, lr, b1, b2, eps, l2, wd, c1, c2);
                }
            }
        } finally {
            Ledger.setPhase(old);
        }
        gatherWeights();
        reduced = false;
        lastStepBytes = mpi.bytesSent() - sentAtStart;
        stepOpen = false;
    }

    /**
     * Collective: every Param.data = the owners' masters, then the working copies are refreshed. Stage 0: this
     * rank's masters are all of them; stages 1, 2: group by group, an all-gather; stage 3: nothing (the next forward
     * gathers each layer).
     */
    private void gatherWeights() {
        if (stage == 3) {
            return;
        }
        if (stage == 0) {
            // every rank updated everything identically: the masters are the weights
            for (int i = 0; i < pieceParam.length; i++) {
                System.arraycopy(master, pieceAt[i], params.get(pieceParam[i]).data, pieceFrom[i], pieceLen[i]);
            }
        } else {
            for (int g = 0; g < members.length; g++) {
                gatherMasters(g);
                for (int q : members[g]) {
                    Param p = params.get(q);
                    MemorySegment.copy(flat, ValueLayout.JAVA_FLOAT, 4 * paramOffset[q], p.data, 0, p.size());
                }
            }
        }
        for (Param p : params) {
            p.syncWorking();
        }
    }

    /** flat[0, n) = group g's gradients end to end (n ≥ Ψ_g), zeros past Ψ_g. */
    private void packGradients(int g, long n) {
        for (int q : members[g]) {
            Param p = params.get(q);
            MemorySegment.copy(p.grad, 0, flat, ValueLayout.JAVA_FLOAT, 4 * paramOffset[q], p.size());
        }
        if (n > groupSize[g]) {
            flat.asSlice(4 * groupSize[g], 4 * (n - groupSize[g])).fill((byte) 0);
        }
    }

    private void copyWeightsToMasters() {
        for (int i = 0; i < pieceParam.length; i++) {
            System.arraycopy(params.get(pieceParam[i]).data, pieceFrom[i], master, pieceAt[i], pieceLen[i]);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // checks, state, memory, traffic

    /** A 64-bit hash of every Param.data bit pattern, in order (FNV-1a over the float bits). Local. */
    public long weightHash() {
        long h = 0xcbf29ce484222325L;
        for (Param p : params) {
            for (float x : p.data) {
                h = (h ^ Float.floatToRawIntBits(x)) * 0x100000001b3L;
            }
        }
        return h;
    }

    /**
     * Collective: whether every rank's {@link #weightHash()} is the same. Stage 3 keeps no replica to compare (each
     * weight lives on one rank, and every rank computes with the same gathered values): true without communicating.
     */
    public boolean weightsIdenticalOnAllRanks() {
        if (stage == 3) {
            return true;
        }
        long[] all = new long[ranks];
        mpi.allGather(new long[] {weightHash()}, 0, all, 0, 1);
        for (long h : all) {
            if (h != all[0]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Collective: the full AdamW state gathered from all shards, keyed as {@link AdamW#state()} keys it
     * ({@code "<param>.m"}, {@code "<param>.v"}; fresh arrays), e.g. for a checkpoint that loads into one process.
     */
    public Map<String, float[]> gatherState() {
        float[] allM = gatherShards(m);
        float[] allV = gatherShards(v);
        LinkedHashMap<String, float[]> out = new LinkedHashMap<>();
        for (int g = 0; g < members.length; g++) {
            for (int q : members[g]) {
                Param p = params.get(q);
                float[] pm = new float[p.size()];
                float[] pv = new float[p.size()];
                // element e of the group lives on rank e / S_g at its slice's e % S_g
                for (int i = 0; i < p.size(); i++) {
                    long e = paramOffset[q] + i;
                    long at = (e / groupShard[g]) * shard + groupAt[g] + e % groupShard[g];
                    pm[i] = allM[(int) at];
                    pv[i] = allV[(int) at];
                }
                out.put(p.name + ".m", pm);
                out.put(p.name + ".v", pv);
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private float[] gatherShards(float[] a) {
        if (stage == 0) {
            return a;
        }
        float[] all = new float[ranks * shard];
        mpi.allGather(a, 0, all, 0, shard);
        return all;
    }

    /**
     * Local: takes this rank's shard of a full AdamW state (as {@link #gatherState()} or {@link AdamW#state()} give
     * it; any number of ranks wrote it) and the step count, and re-reads the masters from Param.data. Every
     * parameter needs both slots with its exact size.
     */
    public void loadState(Map<String, float[]> state, long stepCount) {
        if (stepCount < 0) {
            throw new IllegalArgumentException("optimizer step count must be >= 0, got " + stepCount);
        }
        for (Param p : params) {
            for (String slot : List.of("m", "v")) {
                float[] a = state.get(p.name + "." + slot);
                if (a == null || a.length != p.size()) {
                    throw new IllegalArgumentException("optimizer state " + p.name + "." + slot + " is "
                            + (a == null ? "missing" : "of " + a.length + " elements") + " but parameter " + p.name
                            + Arrays.toString(p.shape()) + " has " + p.size() + ": the checkpoint is from a different"
                            + " model");
                }
            }
        }
        Arrays.fill(m, 0f);
        Arrays.fill(v, 0f);
        for (int i = 0; i < pieceParam.length; i++) {
            String name = params.get(pieceParam[i]).name;
            System.arraycopy(state.get(name + ".m"), pieceFrom[i], m, pieceAt[i], pieceLen[i]);
            System.arraycopy(state.get(name + ".v"), pieceFrom[i], v, pieceAt[i], pieceLen[i]);
        }
        if (stage != 3) {
            copyWeightsToMasters(); // stage 3's weights are released: the masters read at construction stand
        }
        steps = stepCount;
    }

    /**
     * Bytes this rank sent during the last step (from {@link #beginStep()}, or the step's first collective here, to
     * the end of {@link #step}), under {@link Mpi#bytesSent()}'s ring model; includes the loss's all-reduce, the
     * overflow flag and the norm's all-gather when they ran between.
     */
    public long lastStepBytesSent() {
        return lastStepBytes;
    }

    /**
     * The ZeRO paper's communication volume per rank and step, in bytes of FP32 (4 per element), with the ring
     * algorithms' (N−1)/N: stages 0, 1, 2: 2·(N−1)/N·4Ψ (an all-reduce, or a reduce-scatter plus an all-gather);
     * stage 3: 3·(N−1)/N·4Ψ (the weights are all-gathered twice, for forward and backward).
     */
    public static double trafficFormulaBytes(int stage, long psi, int ranks) {
        double ring = (ranks - 1.0) / ranks;
        return (stage == 3 ? 3 : 2) * ring * 4.0 * psi;
    }

    /**
     * What this rank holds, in bytes, by category. Measured from the arrays and buffers actually allocated.
     *
     * @param weightBytes      stages 0–2: the full weights every rank keeps (Param.data + 16-bit working copies);
     *                         stage 3: the most gathered layer weights held at once (the pool's arrays)
     * @param modelGradBytes   stages 0, 1: the full Param.grad arrays backward writes; stages 2, 3: the most
     *                         layer gradients held at once during backward (the pool's arrays)
     * @param gradBufferBytes  the optimizer's gradient memory: the staging bucket, the receive buffer and the shard
     *                         of the mean gradient
     * @param optimizerBytes   AdamW's m and v for the shard only: 8·S
     * @param masterBytes      FP32 masters for the shard only: 4·S
     * @param bucketBytes      the staging bucket and receive buffer, part of gradBufferBytes
     */
    public record Memory(int stage, int ranks, long parameters, long shardElements, long weightBytes,
            long modelGradBytes, long gradBufferBytes, long optimizerBytes, long masterBytes, long bucketBytes) {

        /** The sharded part: masters + m + v, 12·S bytes (≈ 12Ψ/N for stages ≥ 1). */
        public long shardedStateBytes() {
            return optimizerBytes + masterBytes;
        }

        /** Everything above. */
        public long totalBytes() {
            return weightBytes + modelGradBytes + gradBufferBytes + optimizerBytes + masterBytes;
        }

        /**
         * The ZeRO paper's per-rank model-state bytes for mixed precision (2-byte weights and gradients, K = 12
         * bytes of FP32 master, m and v per parameter): stage 0 (2+2+12)Ψ = 16Ψ; 1: 2Ψ + 2Ψ + 12Ψ/N; 2: 2Ψ + 14Ψ/N;
         * 3: 16Ψ/N.
         */
        public static double mixedPrecisionFormula(int stage, long psi, int ranks) {
            double p = psi;
            return switch (stage) {
                case 0 -> 16 * p;
                case 1 -> 4 * p + 12 * p / ranks;
                case 2 -> 2 * p + 14 * p / ranks;
                default -> 16 * p / ranks;
            };
        }

        /**
         * The same for FP32 training, where the weights are the masters (4 + 4 + 8 bytes: weights, gradients,
         * m and v): stage 0 16Ψ; 1: 4Ψ + 4Ψ + 8Ψ/N; 2: 4Ψ + 12Ψ/N; 3: 16Ψ/N.
         */
        /** {@link #fp32Formula}'s expression for {@code stage}, as printed beside its value. */
        public static String fp32FormulaText(int stage) {
            return switch (stage) {
                case 0 -> "16Ψ";
                case 1 -> "8Ψ + 8Ψ/N";
                case 2 -> "4Ψ + 12Ψ/N";
                default -> "16Ψ/N";
            };
        }

        public static double fp32Formula(int stage, long psi, int ranks) {
            double p = psi;
            return switch (stage) {
                case 0 -> 16 * p;
                case 1 -> 8 * p + 8 * p / ranks;
                case 2 -> 4 * p + 12 * p / ranks;
                default -> 16 * p / ranks;
            };
        }
    }

    /** This rank's bytes by category (see {@link Memory}). Local. */
    public Memory memory() {
        long weights = 0;
        long modelGrads = 0;
        for (Param p : params) {
            weights += p.masterBytes() + p.workingBytesAllocated();
            modelGrads += p.gradBytes();
        }
        if (stage == 3) {
            weights = weightPool.allocatedBytes();
        }
        if (stage >= 2) {
            modelGrads = gradPool.allocatedBytes();
        }
        long staging = flat.byteSize() + recv.byteSize();
        return new Memory(stage, ranks, psi, shard, weights, modelGrads, staging + 4L * grad.length,
                4L * (m.length + v.length), 4L * master.length, staging);
    }

    /** Frees the off-heap buffers. Local; the optimizer cannot be used afterwards. */
    @Override
    public void close() {
        drainLayers(); // MPI may still write into the buckets
        arena.close();
    }

    /**
     * Arrays by length, handed out and taken back, never freed: one layer's arrays serve the next layer of the same
     * shapes, so the pool's size is the most held at once. Not thread-safe.
     */
    private static final class ArrayPool {
        private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
        private long allocated;

        float[] take(int n) {
            ArrayDeque<float[]> q = free.get(n);
            if (q != null && !q.isEmpty()) {
                return q.pop();
            }
            allocated += 4L * n;
            return new float[n];
        }

        float[] takeZeroed(int n) {
            float[] a = take(n);
            Arrays.fill(a, 0f);
            return a;
        }

        void give(float[] a) {
            if (a.length > 0) {
                free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
            }
        }

        long allocatedBytes() {
            return allocated;
        }
    }
}
