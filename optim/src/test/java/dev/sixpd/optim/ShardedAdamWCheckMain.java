package dev.sixpd.optim;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One rank of {@link ShardedAdamWTest}. For ZeRO stages 0, 1 and 2 it trains the same parameters for a few steps
 * with random per-rank gradients and checks, after every step, that the weights equal those of one unsharded
 * {@link AdamW} fed the mean of all ranks' gradients (every rank generates every rank's seeded gradients); that the
 * global norm and clipping agree with {@link Grads#clipGlobalNorm}; that an overflow on one rank skips the step on
 * all; that the gathered AdamW state equals the unsharded one; that a state gathered from one stage loads into
 * another and continues identically; that all ranks end with the same weight hash; and the per-rank bytes of
 * memory and traffic. Bit for bit with 2 ranks; to a relative 1e-5 otherwise (Open MPI's association of N &gt; 2
 * terms). Prints {@code rank R OK} and exits 0, or prints {@code FAIL} and aborts every rank with exit code 3.
 */
public final class ShardedAdamWCheckMain {
    /** Odd sizes: empty, size 1, vector tails; parameter 3 takes the overflow. */
    private static final int[] SIZES = {7, 1, 0, 1000, 33, 20_001, 517};
    /** One parameter above SlotOptimizer.PARALLEL_MIN per 2-rank shard: the multi-threaded update (stage 1 only). */
    private static final int[] BIG = {3, 1, 0, 1000, 140_001};
    private static boolean exact;

    public static void main(String[] args) {
        Mpi mpi = Mpi.init();
        try {
            exact = mpi.size() == 2;
            for (int stage = 0; stage <= 2; stage++) {
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

    private static List<Param> params(int[] sizes, long seed) {
        Rng r = new Rng(seed);
        List<Param> ps = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            Param p = new Param("p" + i + (i % 2 == 0 ? ".weight" : ".bias"), new int[] {sizes[i]}, i % 2 == 0);
            r.fillNormal(p.data, 0, 1);
            ps.add(p);
        }
        return ps;
    }

    /** Rank q's gradient at step t (seeded, so every rank can compute every rank's). */
    private static void grads(List<Param> ps, int t, int q) {
        Rng r = new Rng(1000L * t + q);
        for (Param p : ps) {
            r.fillNormal(p.grad, 0, 0.5);
        }
    }

    private static void run(Mpi mpi, int stage, int[] sizes, int steps) {
        int n = mpi.size();
        int rank = mpi.rank();
        AdamW hyper = new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
        List<Param> ps = params(sizes, 7);
        if (rank != 0) {
            // the constructor broadcasts rank 0's weights: start the others elsewhere
            for (Param p : ps) {
                java.util.Arrays.fill(p.data, rank);
            }
        }
        int bucket = 1000; // stage 2: several buckets and a partial last one
        ShardedAdamW opt = new ShardedAdamW(mpi, stage, hyper, ps, bucket);
        List<Param> ref = params(sizes, 7);
        AdamW refOpt = new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
        List<Param> other = params(sizes, 0);
        LossScaler scaler = LossScaler.dynamic(4f, 2f, 0.5f, 2, 1f);
        LossScaler refScaler = LossScaler.dynamic(4f, 2f, 0.5f, 2, 1f);
        long psi = Grads.count(ps);
        check(opt.parameters() == psi, "parameters " + opt.parameters() + " != " + psi);
        int shard = stage == 0 ? (int) psi : (int) ((psi + n - 1) / n);
        check(opt.shardElements() == shard, "shard " + opt.shardElements() + " != " + shard);
        checkWeights(ps, ref, "stage " + stage + " after construction (broadcast of rank 0's weights)");

        for (int t = 1; t <= steps; t++) {
            // this rank's gradient, and the mean of all ranks' for the reference, summed in rank order
            grads(ps, t, rank);
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
                    ps.get(3).grad[500] = Float.POSITIVE_INFINITY;
                }
                ref.get(3).grad[500] = Float.POSITIVE_INFINITY;
            }
            long sent0 = mpi.bytesSent();
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
            checkWeights(ps, ref, "stage " + stage + " step " + t);
            // traffic in the ring model: stage 0 one all-reduce (flag and norm are local); stages 1, 2 a
            // reduce-scatter and an all-gather of S per rank, the overflow flag's all-reduce, the norm's all-gather
            long expect = stage == 0 ? 2L * (n - 1) * psi * 4 / n
                    : 2L * (n - 1) * shard * 4 + 2L * (n - 1) * 4 / n + (long) (n - 1) * 8;
            check(opt.lastStepBytesSent() == expect && mpi.bytesSent() - sent0 == expect,
                    "stage " + stage + " step " + t + ": sent " + opt.lastStepBytesSent() + " want " + expect);
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

        // memory: only the shard's masters, m, v; stage 2 holds a bucket instead of the flat gradient
        ShardedAdamW.Memory mem = opt.memory();
        check(mem.optimizerBytes() == 8L * shard && mem.masterBytes() == 4L * shard,
                "stage " + stage + " memory " + mem);
        long flatBytes = stage == 2 ? 4L * n * bucket + 4L * bucket : 4L * (stage == 0 ? psi : (long) n * shard)
                + (stage == 0 ? 0 : 4L * shard);
        check(mem.gradBufferBytes() == flatBytes + 4L * shard, "stage " + stage + " grad buffers "
                + mem.gradBufferBytes() + " want " + (flatBytes + 4L * shard));
        check(mem.weightBytes() == 4 * psi && mem.modelGradBytes() == 4 * psi, "stage " + stage + " model " + mem);
        check(!exact || opt.weightHash() == hash(ref), "stage " + stage + ": weight hash differs from the reference");

        // a state gathered here loads into the next stage and continues like the reference
        int nextStage = (stage + 1) % 3;
        ShardedAdamW next = new ShardedAdamW(mpi, nextStage, hyper, ps, 777);
        next.loadState(state, opt.stepCount());
        grads(ps, 99, rank);
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
        next.reduceGradients();
        next.step(0.003f);
        refOpt.stepAndSync(ref, 0.003f);
        checkWeights(ps, ref, "stage " + stage + " state loaded into stage " + nextStage);
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
