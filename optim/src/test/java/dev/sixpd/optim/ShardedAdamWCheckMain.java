package dev.sixpd.optim;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One rank of {@link ShardedAdamWTest}. For ZeRO stages 0 to 3 it trains the same parameters for a few steps
 * with random per-rank gradients and checks, after every step, that the weights equal those of one unsharded
 * {@link AdamW} fed the mean of all ranks' gradients (every rank generates every rank's seeded gradients); that the
 * global norm and clipping agree with {@link Grads#clipGlobalNorm}; that an overflow on one rank skips the step on
 * all; that the gathered AdamW state equals the unsharded one; that a state gathered from one stage loads into
 * another and continues identically; that all ranks end with the same weight hash; and the per-rank bytes of
 * memory and traffic. Stages 2 and 3 are driven as a model drives them, layer by layer: the groups' gradients
 * acquired, filled and reduced one group at a time in reverse order (backward), stage 3's weights gathered group by
 * group (twice: forward and backward) and compared with the reference. Bit for bit with 2 ranks; to a relative 1e-5 otherwise (Open MPI's association of N &gt; 2
 * terms). Prints {@code rank R OK} and exits 0, or prints {@code FAIL} and aborts every rank with exit code 3.
 */
public final class ShardedAdamWCheckMain {
    /**
     * Odd sizes in groups (layers): empty, size 1, vector tails; groups 1 and 2 have the same shapes, as a model's
     * blocks do; parameter 3 takes the overflow.
     */
    private static final int[][] SIZES = {{7, 1, 0}, {1000, 33}, {1000, 33}, {20_001, 517}};
    /** One parameter above SlotOptimizer.PARALLEL_MIN per 2-rank shard: the multi-threaded update (stage 1 only). */
    private static final int[][] BIG = {{3, 1, 0, 1000, 140_001}};
    private static boolean exact;

    public static void main(String[] args) {
        Mpi mpi = Mpi.init();
        try {
            exact = mpi.size() == 2;
            for (int stage = 0; stage <= 3; stage++) {
                run(mpi, stage, SIZES, 5);
            }
            run(mpi, 1, BIG, 2);
        } catch (Throwable t) {
            System.out.println("rank " + mpi.rank() + " FAIL: " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            mpi.abort(3);
        }
        System.out.println("rank " + mpi.rank() + " OK");
        mpi.close();
    }

    private static List<Param> params(int[][] sizes, long seed) {
        List<Param> ps = new ArrayList<>();
        for (List<Param> g : groups(sizes, seed)) {
            ps.addAll(g);
        }
        return ps;
    }

    private static List<List<Param>> groups(int[][] sizes, long seed) {
        Rng r = new Rng(seed);
        List<List<Param>> gs = new ArrayList<>();
        int i = 0;
        for (int[] group : sizes) {
            List<Param> g = new ArrayList<>();
            for (int size : group) {
                Param p = new Param("p" + i + (i % 2 == 0 ? ".weight" : ".bias"), new int[] {size}, i % 2 == 0);
                r.fillNormal(p.data, 0, 1);
                g.add(p);
                i++;
            }
            gs.add(g);
        }
        return gs;
    }

    /** Rank q's gradient at step t (seeded, so every rank can compute every rank's). */
    private static void grads(List<Param> ps, int t, int q) {
        Rng r = new Rng(1000L * t + q);
        for (Param p : ps) {
            r.fillNormal(p.grad, 0, 0.5);
        }
    }

    private static void run(Mpi mpi, int stage, int[][] sizes, int steps) {
        int n = mpi.size();
        int rank = mpi.rank();
        AdamW hyper = new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
        List<List<Param>> gs = groups(sizes, 7);
        List<Param> ps = new ArrayList<>();
        gs.forEach(ps::addAll);
        if (rank != 0) {
            // the constructor broadcasts rank 0's weights: start the others elsewhere
            for (Param p : ps) {
                java.util.Arrays.fill(p.data, rank);
            }
        }
        ShardedAdamW opt = ShardedAdamW.grouped(mpi, stage, hyper, gs);
        if (stage >= 2) {
            check(ps.stream().allMatch(p -> p.grad.length == 0), "stage " + stage + ": gradients not released");
        }
        if (stage == 3) {
            check(ps.stream().allMatch(p -> p.data.length == 0), "stage 3: weights not released");
        }
        List<Param> ref = params(sizes, 7);
        AdamW refOpt = new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
        LossScaler scaler = LossScaler.dynamic(4f, 2f, 0.5f, 2, 1f);
        LossScaler refScaler = LossScaler.dynamic(4f, 2f, 0.5f, 2, 1f);
        long psi = Grads.count(ps);
        check(opt.parameters() == psi, "parameters " + opt.parameters() + " != " + psi);
        int shard = 0;
        int bucket = 0;
        for (int[] group : stage <= 1 ? new int[][] {java.util.Arrays.stream(sizes).flatMapToInt(
                java.util.Arrays::stream).toArray()} : sizes) {
            int sg = stage == 0 ? java.util.Arrays.stream(group).sum()
                    : (java.util.Arrays.stream(group).sum() + n - 1) / n;
            shard += sg;
            bucket = Math.max(bucket, sg);
        }
        check(opt.shardElements() == shard, "shard " + opt.shardElements() + " != " + shard);
        check(opt.bucketElements() == Math.max(1, bucket), "bucket " + opt.bucketElements() + " != " + bucket);
        checkWeights(opt, ps, ref, "stage " + stage + " after construction (broadcast of rank 0's weights)");
        List<Param> other = params(sizes, 0);

        List<Param> src = params(sizes, 0);
        for (int t = 1; t <= steps; t++) {
            opt.beginStep();
            long sent0 = mpi.bytesSent();
            if (stage == 3) {
                // forward: each layer's weights gathered, compared, released
                for (int g = 0; g < gs.size(); g++) {
                    opt.gatherGroup(g);
                    checkGathered(gs.get(g), ref, "stage 3 step " + t + " forward, group " + g);
                    opt.releaseGroup(g);
                }
            }
            // this rank's gradient, and the mean of all ranks' for the reference, summed in rank order
            grads(src, t, rank);
            grads(ref, t, 0);
            for (int q = 1; q < n; q++) {
                grads(other, t, q);
                for (int k = 0; k < ref.size(); k++) {
                    float[] g = ref.get(k).grad;
                    float[] h = other.get(k).grad;
                    for (int i = 0; i < g.length; i++) {
                        g[i] += h[i];
                    }
                }
            }
            if (n > 1) {
                Grads.scale(ref, 1f / n);
            }
            boolean overflowStep = t == 3;
            if (overflowStep) {
                // the last rank overflows, so the mean of all ranks does too
                if (rank == n - 1) {
                    src.get(3).grad[500] = Float.POSITIVE_INFINITY;
                }
                ref.get(3).grad[500] = Float.POSITIVE_INFINITY;
            }
            backward(opt, gs, src);
            opt.reduceGradients();
            opt.scaleGradients(0.5f); // e.g. 1 / (2 micro-batches)
            Grads.scale(ref, 0.5f);
            boolean finite = opt.unscaleAndCheck(scaler);
            boolean refFinite = refScaler.unscaleAndCheck(ref);
            check(finite == !overflowStep && refFinite == finite, "step " + t + ": unscaleAndCheck " + finite
                    + " (reference " + refFinite + ") on rank " + rank);
            check(scaler.scale() == refScaler.scale() && scaler.skippedSteps() == refScaler.skippedSteps(),
                    "step " + t + ": loss scaler " + scaler + " vs " + refScaler);
            if (!finite) {
                continue; // every rank skips
            }
            // step 2 clips hard (norm > max), the others clip at a bound they do not reach
            double max = t == 2 ? 0.5 : 1e9;
            double norm = opt.clipGlobalNorm(max);
            double refNorm = Grads.clipGlobalNorm(ref, max);
            check(Math.abs(norm - refNorm) <= (exact ? 1e-12 : 1e-6) * refNorm,
                    "step " + t + ": norm " + norm + " vs " + refNorm);
            float lr = 0.01f * t;
            // the ledger: this rank's update FLOPs, and over all ranks those of one unsharded step
            Ledger.setEnabled(true);
            Ledger.reset();
            opt.step(lr);
            long stepFlops = Ledger.flops(Ledger.Phase.OPTIMIZER);
            Ledger.reset();
            refOpt.stepAndSync(ref, lr);
            long refFlops = Ledger.flops(Ledger.Phase.OPTIMIZER);
            Ledger.setEnabled(false);
            check(stepFlops == opt.updateFlops(), "step " + t + ": ledger " + stepFlops + " vs " + opt.updateFlops());
            long[] total = {stepFlops};
            mpi.allReduce(total, 0, 1, Mpi.Op.SUM);
            sent0 += 2L * (n - 1) * 8 / n; // this check's own traffic
            check(total[0] == (stage == 0 ? n * refFlops : refFlops),
                    "step " + t + ": update FLOPs over all ranks " + total[0] + " vs unsharded " + refFlops);
            // traffic in the ring model: stage 0 one all-reduce (flag and norm are local); stages 1, 2 a
            // reduce-scatter and an all-gather of S per rank, the overflow flag's all-reduce, the norm's all-gather;
            // stage 3 two all-gathers (forward, backward) and a reduce-scatter
            long expect = stage == 0 ? 2L * (n - 1) * psi * 4 / n
                    : (stage == 3 ? 3L : 2L) * (n - 1) * shard * 4 + 2L * (n - 1) * 4 / n + (long) (n - 1) * 8;
            check(opt.lastStepBytesSent() == expect && mpi.bytesSent() - sent0 == expect,
                    "stage " + stage + " step " + t + ": sent " + opt.lastStepBytesSent() + " want " + expect);
            checkWeights(opt, ps, ref, "stage " + stage + " step " + t);
            check(opt.weightsIdenticalOnAllRanks(), "stage " + stage + " step " + t + ": weight hashes differ");
        }
        check(opt.stepCount() == refOpt.stepCount(), "step counts " + opt.stepCount() + " vs " + refOpt.stepCount());

        // the gathered state is AdamW's, bit for bit
        Map<String, float[]> state = opt.gatherState();
        Map<String, float[]> refState = refOpt.state();
        check(state.keySet().equals(refState.keySet()), "state keys " + state.keySet() + " vs " + refState.keySet());
        for (Map.Entry<String, float[]> e : refState.entrySet()) {
            checkFloats(e.getValue(), state.get(e.getKey()), "stage " + stage + " state " + e.getKey());
        }

        // memory: only the shard's masters, m, v; stages 2, 3 stage one layer (the bucket) instead of the flat gradient
        ShardedAdamW.Memory mem = opt.memory();
        check(mem.optimizerBytes() == 8L * shard && mem.masterBytes() == 4L * shard,
                "stage " + stage + " memory " + mem);
        // the staging bucket (stage 0: all of Ψ) and the receive buffer
        long staging = 4L * (stage == 0 ? 1 : n) * opt.bucketElements() + (stage == 0 ? 0 : 4L * opt.bucketElements());
        check(mem.gradBufferBytes() == staging + 4L * shard && mem.bucketBytes() == staging, "stage " + stage
                + " grad buffers " + mem.gradBufferBytes() + " want " + (staging + 4L * shard));
        // stages 2, 3: one layer at a time; groups 1 and 2 share their shapes, so the pool holds Ψ minus group 2
        long pooled = 4L * (psi - (sizes.length > 2 ? java.util.Arrays.stream(sizes[2]).sum() : 0));
        check(mem.modelGradBytes() == (stage >= 2 ? pooled : 4 * psi), "stage " + stage + " model grads " + mem);
        check(mem.weightBytes() == (stage == 3 ? pooled : 4 * psi), "stage " + stage + " weights " + mem);
        opt.gatherAllWeights();
        check(!exact || opt.weightHash() == hash(ref), "stage " + stage + ": weight hash differs from the reference");

        // a state gathered here loads into the next stage and continues like the reference
        int nextStage = (stage + 1) % 4;
        ShardedAdamW next = ShardedAdamW.grouped(mpi, nextStage, hyper, gs);
        next.loadState(state, opt.stepCount());
        grads(src, 99, rank);
        grads(ref, 99, 0);
        for (int q = 1; q < n; q++) {
            grads(other, 99, q);
            for (int k = 0; k < ref.size(); k++) {
                for (int i = 0; i < ref.get(k).grad.length; i++) {
                    ref.get(k).grad[i] += other.get(k).grad[i];
                }
            }
        }
        if (n > 1) {
            Grads.scale(ref, 1f / n);
        }
        next.beginStep();
        if (nextStage == 3) {
            for (int g = 0; g < gs.size(); g++) {
                next.gatherGroup(g);
                next.releaseGroup(g);
            }
        }
        backward(next, gs, src);
        next.reduceGradients();
        next.step(0.003f);
        refOpt.stepAndSync(ref, 0.003f);
        checkWeights(next, ps, ref, "stage " + stage + " state loaded into stage " + nextStage);
        next.gatherAllWeights(); // the next run starts from whole weights
        next.close();
        opt.close();
        if (rank == 0) {
            System.out.printf(Locale.ROOT, "stage %d, N=%d, Ψ=%d, S=%d: masters %d B + m,v %d B (12·S = %d),"
                            + " grad buffers %d B, model weights %d B + grads %d B;"
                            + " sent %d B/step (2·(N-1)/N·4Ψ = %.0f)%n",
                    stage, n, psi, shard, mem.masterBytes(), mem.optimizerBytes(), 12L * shard, mem.gradBufferBytes(),
                    mem.weightBytes(), mem.modelGradBytes(), opt.lastStepBytesSent(),
                    ShardedAdamW.trafficFormulaBytes(stage, psi, n));
        }
    }

    /**
     * Hands {@code src}'s gradients to {@code opt}: stages 0, 1 into every Param.grad; stages 2, 3 as a model's
     * backward does, group by group in reverse, each acquired, filled, reduced and released (stage 3 gathers each
     * group's weights first, as for its backward).
     */
    private static void backward(ShardedAdamW opt, List<List<Param>> gs, List<Param> src) {
        int k0 = 0;
        int[] first = new int[gs.size()];
        for (int g = 0; g < gs.size(); g++) {
            first[g] = k0;
            k0 += gs.get(g).size();
        }
        if (opt.stage() < 2) {
            for (int g = 0; g < gs.size(); g++) {
                for (int i = 0; i < gs.get(g).size(); i++) {
                    Param p = gs.get(g).get(i);
                    System.arraycopy(src.get(first[g] + i).grad, 0, p.grad, 0, p.size());
                }
            }
            return;
        }
        for (int g = gs.size() - 1; g >= 0; g--) {
            if (opt.stage() == 3) {
                opt.gatherGroup(g);
                opt.releaseGroup(g);
            }
            opt.acquireGradients(g);
            for (int i = 0; i < gs.get(g).size(); i++) {
                Param p = gs.get(g).get(i);
                System.arraycopy(src.get(first[g] + i).grad, 0, p.grad, 0, p.size());
            }
            opt.reduceGroup(g);
            for (Param p : gs.get(g)) {
                check(p.grad.length == 0, "stage " + opt.stage() + ": " + p.name + "'s gradient not released");
            }
        }
    }

    /** Stage 3: group g's gathered weights (FP32 working dtype: the masters) against the reference. */
    private static void checkGathered(List<Param> group, List<Param> ref, String what) {
        for (Param p : group) {
            Param r = ref.stream().filter(x -> x.name.equals(p.name)).findFirst().orElseThrow();
            checkFloats(r.data, p.data, what + " " + p.name);
        }
    }

    private static void checkWeights(ShardedAdamW opt, List<Param> got, List<Param> want, String what) {
        opt.gatherAllWeights();
        checkWeights(got, want, what);
        opt.releaseAllWeights();
    }

    private static long hash(List<Param> ps) {
        long h = 0xcbf29ce484222325L;
        for (Param p : ps) {
            for (float x : p.data) {
                h = (h ^ Float.floatToRawIntBits(x)) * 0x100000001b3L;
            }
        }
        return h;
    }

    private static void checkWeights(List<Param> got, List<Param> want, String what) {
        for (int k = 0; k < want.size(); k++) {
            checkFloats(want.get(k).data, got.get(k).data, what + " " + want.get(k).name);
        }
    }

    private static void checkFloats(float[] want, float[] got, String what) {
        check(want.length == got.length, what + ": length " + got.length + " want " + want.length);
        for (int i = 0; i < want.length; i++) {
            boolean ok = exact ? Float.floatToRawIntBits(want[i]) == Float.floatToRawIntBits(got[i])
                    : Math.abs(want[i] - got[i]) <= 1e-5 * (Math.abs(want[i]) + 1);
            check(ok, what + "[" + i + "]: want " + want[i] + " got " + got[i]);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
