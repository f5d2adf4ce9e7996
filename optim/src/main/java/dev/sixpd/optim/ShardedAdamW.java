package dev.sixpd.optim;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Data-parallel AdamW over the ranks of an {@link Mpi} world, with ZeRO's sharding (Rajbhandari et al. 2020)
 * of the optimizer state (stage 1) and of the gradients (stage 2); stage 0 is plain data parallelism.
 *
 * <p><b>Layout.</b> The parameters, in list order, are laid end to end in one flat index space of Ψ elements
 * (parameter k starts at the sum of the sizes before it), padded with zeros to L = N·S, S = ⌈Ψ/N⌉. Rank r owns the
 * shard {@code [r·S, (r+1)·S)}: it keeps the FP32 masters, the AdamW moments m and v and the mean gradient of those
 * S elements only; the other shards' state is never allocated. (Stage 0: one shard of L = Ψ, on every rank.)
 *
 * <p><b>One step</b> (every rank, after backward filled {@link Param#grad} with its own gradient):
 * <pre>
 *   reduceGradients()      stage 0: all-reduce(sum) of the flat gradient, every rank keeps all of it
 *                          stage 1: copy all of Param.grad into a flat buffer [L]; reduce-scatter(sum): rank r
 *                                   receives its shard [S]
 *                          stage 2: the same, bucket by bucket through a buffer of N·c elements: bucket k sends
 *                                   elements [q·S + k·c, q·S + (k+1)·c) of every shard q and receives its own
 *                          then g = sum · (1/N), the mean over ranks (exact for N a power of two)
 *   scaleGradients(s)      g *= s on the shard (1/micro-batches), optional
 *   unscaleAndCheck(ls)    g *= 1/scale, then allFinite(): all-reduce(MAX) of "this shard has Inf/NaN", so any
 *                          rank's overflow skips the step on all ranks; the loss scaler is updated alike everywhere
 *   clipGlobalNorm(max)    all ranks' shards' Σg² (each in double, fixed blocks), all-gathered and added in rank
 *                          order; scale g by max/norm when norm &gt; max
 *   step(lr)               AdamW on the shard: masters, m, v; then all-gather the updated masters into every
 *                          Param.data (stage 1: one call; stage 2: bucket by bucket) and refresh working copies
 * </pre>
 * Since the update is elementwise and every rank applies {@link AdamW#update} to its shard with the same
 * hyperparameters, the weights equal those of one {@link AdamW} fed the mean gradient, bit for bit, whenever the
 * mean is: with 2 ranks a sum is one addition (order-free); for N &gt; 2 Open MPI chooses the association of the N
 * terms (fixed for a given N and size, but maybe not left to right, and stage 2's smaller messages may choose
 * another algorithm than stage 1's). The global norm is the single-process {@link Grads#globalNorm}'s up to the
 * association of the double sum (about 1e-16 relative); the float clip factor {@code (float) (max/norm)} is then
 * the same except when the two norms straddle a float rounding boundary (odds ~1e-9 per step).
 *
 * <p><b>Where stage 2 saves memory.</b> Stage 1 holds the whole flat gradient (4·L bytes) for the reduce-scatter
 * and reuses it to all-gather the weights; stage 2 holds one bucket (4·N·c bytes) instead, plus the shard of the
 * mean gradient (4·S) in both. sixpd's {@link Param} still owns a full-size {@code grad} that backward accumulates
 * into (4·Ψ, reported as model gradients): the rest of ZeRO-2's saving needs backward to hand each layer's gradient
 * to the reduce-scatter as soon as it is complete and reuse that memory, which is the model's side (issue 13).
 * Stage 3 (sharding the working weights themselves, all-gathered per layer before its forward and backward) is not
 * implemented: it too needs the model's cooperation.
 *
 * <p><b>Memory and traffic.</b> {@link #memory()} measures each rank's bytes per category beside the ZeRO paper's
 * formulas; {@link #lastStepBytesSent()} is what this rank sent in the last step under the ring model of
 * {@link Mpi#bytesSent()}, beside {@link #trafficFormulaBytes}: 2·(N−1)/N·4Ψ for stages 0–2, 3·(N−1)/N·4Ψ for 3.
 *
 * <p>Ledger: FLOPs are charged to {@code Ledger.Phase.OPTIMIZER} (set and restored), kind {@code ELEMENTWISE}, for
 * the shard's elements only: the mean 1 FLOP per element, the norm 2, AdamW 14 (+2 with weight decay). Not
 * thread-safe; every method that communicates is a collective: all ranks call it in the same order. Threads inside
 * the update as {@link AdamW}; results do not depend on the thread count.
 */
public final class ShardedAdamW implements AutoCloseable {
    /** Default bucket of stage 2: elements per rank per reduce-scatter / all-gather call (1 MiB of floats). */
    public static final int DEFAULT_BUCKET = 1 << 18;

    private final Mpi mpi;
    private final int stage;
    private final AdamW hyper;
    private final List<Param> params;
    /** offsets[k] = flat index of params[k]'s first element; offsets[params.size()] = Ψ. */
    private final long[] offsets;
    private final long psi;
    private final int ranks;
    /** S: elements per shard (padding included). */
    private final int shard;
    /** Flat index of this rank's shard. */
    private final long lo;
    /** Stage 2: elements per rank per bucket. */
    private final int bucket;

    // this rank's shard, [S] each; elements at or beyond Ψ are padding and stay 0
    private final float[] master;
    private final float[] m;
    private final float[] v;
    private final float[] grad;

    // the pieces of parameters inside the shard: param index, first element in the param, shard offset, length
    private final int[] pieceParam;
    private final int[] pieceFrom;
    private final int[] pieceAt;
    private final int[] pieceLen;

    private final Arena arena = Arena.ofShared();
    /** Stages 0, 1: the flat buffer [L]; stage 2: one bucket [N·c]. */
    private final MemorySegment flat;
    /** Stages 1, 2: what the reduce-scatter receives ([S] or [c]); stage 0: unused (0 bytes). */
    private final MemorySegment recv;

    private long steps;
    private boolean reduced;
    private long sentAtReduce;
    private long lastStepBytes;

    /** Stage 0, 1 or 2 with the default bucket; see {@link #ShardedAdamW(Mpi, int, AdamW, List, int)}. */
    public ShardedAdamW(Mpi mpi, int stage, AdamW hyper, List<Param> params) {
        this(mpi, stage, hyper, params, DEFAULT_BUCKET);
    }

    /**
     * A collective: every rank builds it with the same parameter list (names, shapes, order). Broadcasts rank 0's
     * weights to every rank (so all start identical) and copies this rank's shard of them into its masters.
     *
     * @param hyper  the AdamW (or Adam with L2) whose hyperparameters are used; its own state is not touched
     * @param bucket stage 2's elements per rank per collective call (≥ 1); ignored by stages 0 and 1
     */
    public ShardedAdamW(Mpi mpi, int stage, AdamW hyper, List<Param> params, int bucket) {
        if (stage == 3) {
            throw new IllegalArgumentException("ZeRO stage 3 (sharded working weights) is not implemented yet:"
                    + " use --zero 0, 1 or 2");
        }
        if (stage < 0 || stage > 3) {
            throw new IllegalArgumentException("ZeRO stage must be 0, 1 or 2, got " + stage);
        }
        if (bucket < 1) {
            throw new IllegalArgumentException("bucket must be >= 1 element, got " + bucket);
        }
        this.mpi = mpi;
        this.stage = stage;
        this.hyper = hyper;
        // frozen parameters have no gradient and no state: the flat space holds the trainable ones only
        this.params = List.copyOf(Param.trainable(params));
        Set<String> names = new HashSet<>();
        this.offsets = new long[this.params.size() + 1];
        for (int k = 0; k < this.params.size(); k++) {
            Param p = this.params.get(k);
            if (!names.add(p.name)) {
                throw new IllegalArgumentException("two parameters are named " + p.name + ": names must be unique");
            }
            offsets[k + 1] = offsets[k] + p.size();
        }
        this.psi = offsets[this.params.size()];
        this.ranks = mpi.size();
        int shards = stage == 0 ? 1 : ranks;
        long s = (psi + shards - 1) / shards;
        if (s * shards > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(psi + " parameters in " + shards + " shards: a shard of " + s
                    + " elements is more than a Java array holds; use more ranks");
        }
        this.shard = (int) s;
        this.lo = stage == 0 ? 0 : (long) mpi.rank() * shard;
        this.bucket = Math.min(bucket, Math.max(1, shard));
        this.master = new float[shard];
        this.m = new float[shard];
        this.v = new float[shard];
        this.grad = new float[shard];

        // the parameters' pieces inside [lo, lo + S)
        List<int[]> pieces = new ArrayList<>();
        long hi = Math.min(psi, lo + shard);
        for (int k = 0; k < this.params.size(); k++) {
            long a = Math.max(lo, offsets[k]);
            long b = Math.min(hi, offsets[k + 1]);
            if (a < b) {
                pieces.add(new int[] {k, (int) (a - offsets[k]), (int) (a - lo), (int) (b - a)});
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

        long flatElems = stage == 2 ? (long) ranks * this.bucket : (long) shards * shard;
        flat = arena.allocate(4 * Math.max(1, flatElems), 64);
        recv = stage == 0 ? MemorySegment.NULL : arena.allocate(4L * (stage == 2 ? this.bucket : shard), 64);

        for (Param p : this.params) {
            mpi.broadcast(p.data, 0, p.size(), 0);
            p.syncWorking();
        }
        copyWeightsToMasters();
    }

    /** The ZeRO stage: 0 (plain data parallelism), 1 (optimizer state sharded) or 2 (gradients too). */
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

    /** Flat index of this rank's first shard element. */
    public long shardStart() {
        return lo;
    }

    /** Steps taken (Adam's t after the last step). */
    public long stepCount() {
        return steps;
    }

    /**
     * FLOPs of one {@link #step}'s AdamW update on this rank's shard, as charged to the ledger:
     * {@link AdamW#FLOPS_PER_ELEMENT} per element, plus {@link AdamW#DECAY_FLOPS_PER_ELEMENT} where weight decay
     * applies; summed over the ranks of stages 1 and 2 it is one unsharded AdamW step's (the shards partition it).
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
    // gradients

    /**
     * Collective: reduces every rank's {@link Param#grad} to this rank's shard of the mean gradient (see the class
     * comment for each stage). Param.grad is read, not changed.
     */
    public void reduceGradients() {
        sentAtReduce = mpi.bytesSent();
        if (stage == 0) {
            // flat [Ψ] = Σ over ranks, every rank keeps all of it
            gradsToSegment(0, psi, flat, 0);
            mpi.allReduce(null, flat, psi, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            MemorySegment.copy(flat, ValueLayout.JAVA_FLOAT, 0, grad, 0, shard);
        } else if (stage == 1) {
            // flat [N·S] = every shard of this rank's gradient; rank r receives Σ over ranks of shard r
            gradsToSegment(0, (long) ranks * shard, flat, 0);
            mpi.reduceScatterBlock(flat, recv, shard, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            MemorySegment.copy(recv, ValueLayout.JAVA_FLOAT, 0, grad, 0, shard);
        } else {
            // bucket k: [N, cb] = elements [q·S + k0, q·S + k0 + cb) of every shard q
            for (int k0 = 0; k0 < shard; k0 += bucket) {
                int cb = Math.min(bucket, shard - k0);
                for (int q = 0; q < ranks; q++) {
                    gradsToSegment((long) q * shard + k0, (long) q * shard + k0 + cb, flat, (long) q * cb);
                }
                mpi.reduceScatterBlock(flat, recv, cb, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
                MemorySegment.copy(recv, ValueLayout.JAVA_FLOAT, 0, grad, k0, cb);
            }
        }
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
        lastStepBytes = mpi.bytesSent() - sentAtReduce;
    }

    /** Collective: every Param.data = the owners' masters (all-gather), then the working copies are refreshed. */
    private void gatherWeights() {
        if (stage == 0) {
            // every rank updated everything identically: the masters are the weights
            for (int i = 0; i < pieceParam.length; i++) {
                System.arraycopy(master, pieceAt[i], params.get(pieceParam[i]).data, pieceFrom[i], pieceLen[i]);
            }
        } else if (stage == 1) {
            MemorySegment.copy(master, 0, flat, ValueLayout.JAVA_FLOAT, 4L * lo, shard);
            mpi.allGather(null, flat, shard, Mpi.Datatype.FLOAT);
            segmentToWeights(flat, 0, 0, psi);
        } else {
            int rank = mpi.rank();
            for (int k0 = 0; k0 < shard; k0 += bucket) {
                int cb = Math.min(bucket, shard - k0);
                MemorySegment.copy(master, k0, flat, ValueLayout.JAVA_FLOAT, 4L * rank * cb, cb);
                mpi.allGather(null, flat, cb, Mpi.Datatype.FLOAT);
                for (int q = 0; q < ranks; q++) {
                    long a = (long) q * shard + k0;
                    segmentToWeights(flat, (long) q * cb, a, Math.min(psi, a + cb));
                }
            }
        }
        for (Param p : params) {
            p.syncWorking();
        }
    }

    /** Copies flat gradient elements {@code [a, b)} into {@code seg} from element {@code at}; zeros past Ψ. */
    private void gradsToSegment(long a, long b, MemorySegment seg, long at) {
        long end = Math.min(b, psi);
        long x = a;
        for (int k = paramAt(a); x < end; k++) {
            long pe = offsets[k + 1];
            if (pe <= x) {
                continue;
            }
            int n = (int) (Math.min(end, pe) - x);
            MemorySegment.copy(params.get(k).grad, (int) (x - offsets[k]), seg, ValueLayout.JAVA_FLOAT,
                    4 * (at + x - a), n);
            x += n;
        }
        if (b > end) {
            seg.asSlice(4 * (at + Math.max(0, end - a)), 4 * (b - Math.max(a, end))).fill((byte) 0);
        }
    }

    /** Copies {@code seg} from element {@code at} into Param.data for flat elements {@code [a, b)}, b ≤ Ψ. */
    private void segmentToWeights(MemorySegment seg, long at, long a, long b) {
        long x = a;
        for (int k = paramAt(a); x < b; k++) {
            long pe = offsets[k + 1];
            if (pe <= x) {
                continue;
            }
            int n = (int) (Math.min(b, pe) - x);
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, 4 * (at + x - a), params.get(k).data,
                    (int) (x - offsets[k]), n);
            x += n;
        }
    }

    /** The index of the parameter holding flat element {@code x} (the last one when x ≥ Ψ). */
    private int paramAt(long x) {
        int i = Arrays.binarySearch(offsets, x);
        int k = i >= 0 ? i : -i - 2;
        return Math.max(0, Math.min(k, params.size() - 1));
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

    /** Collective: whether every rank's {@link #weightHash()} is the same. */
    public boolean weightsIdenticalOnAllRanks() {
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
        for (int k = 0; k < params.size(); k++) {
            int from = (int) offsets[k];
            int to = (int) offsets[k + 1];
            out.put(params.get(k).name + ".m", Arrays.copyOfRange(allM, from, to));
            out.put(params.get(k).name + ".v", Arrays.copyOfRange(allV, from, to));
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
        copyWeightsToMasters();
        steps = stepCount;
    }

    /**
     * Bytes this rank sent during the last step (from {@link #reduceGradients()} to the end of {@link #step}), under
     * {@link Mpi#bytesSent()}'s ring model; includes the overflow flag and the norm's all-gather when they ran.
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
     * @param weightBytes      the full weights every rank keeps in stages 0–2: Param.data + 16-bit working copies
     * @param modelGradBytes   the full Param.grad arrays backward writes (model-owned, see the class comment)
     * @param gradBufferBytes  the optimizer's gradient memory: the flat buffer or bucket, the receive buffer and
     *                         the shard of the mean gradient
     * @param optimizerBytes   AdamW's m and v for the shard only: 8·S
     * @param masterBytes      FP32 masters for the shard only: 4·S
     */
    public record Memory(int stage, int ranks, long parameters, long shardElements, long weightBytes,
            long modelGradBytes, long gradBufferBytes, long optimizerBytes, long masterBytes) {

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
        long buffers = flat.byteSize() + recv.byteSize() + 4L * grad.length;
        return new Memory(stage, ranks, psi, shard, weights, modelGrads, buffers, 4L * (m.length + v.length),
                4L * master.length);
    }

    /** Frees the off-heap buffers. Local; the optimizer cannot be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
