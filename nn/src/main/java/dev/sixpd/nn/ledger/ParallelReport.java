package dev.sixpd.nn.ledger;

import dev.sixpd.nn.train.DataParallel;
import dev.sixpd.optim.ShardedAdamW;

import java.io.PrintStream;
import java.util.Locale;

/**
 * {@code train --ledger} of a data-parallel run: each rank's model-state bytes by category, measured from what
 * {@link ShardedAdamW#memory()} allocated, beside the ZeRO paper's per-rank formulas for this Ψ and N, and the
 * bytes each rank sent in its last step beside the ring formula 2·(N−1)/N·4Ψ (3·(N−1)/N·4Ψ for stage 3).
 *
 * <p>The formulas are those of FP32 training (4 bytes of gradient, 8 of AdamW m and v, 4 of FP32 master per
 * parameter): gradients 4Ψ (stages 0, 1) or 4Ψ/N (stage 2), optimizer state 8Ψ (stage 0) or 8Ψ/N, masters 4Ψ or
 * 4Ψ/N. sixpd keeps Param.data (the weights every rank uses, FP32) beside the optimizer's shard of masters, and
 * Param.grad (4Ψ, backward's output) beside the optimizer's gradient buffers: the report names both.
 *
 * <p>Immutable once built; {@link #of} is a collective (every rank calls it; the all-gathered numbers are the same
 * on every rank), {@link #print} is local.
 */
public final class ParallelReport {
    private static final int FIELDS = 7;

    private final int stage;
    private final int ranks;
    private final long psi;
    /** [rank][weights, model grads, grad buffers, optimizer, masters, shard elements, bytes sent last step]. */
    private final long[][] perRank;

    private ParallelReport(int stage, int ranks, long psi, long[][] perRank) {
        this.stage = stage;
        this.ranks = ranks;
        this.psi = psi;
        this.perRank = perRank;
    }

    /** Collective: gathers every rank's {@link ShardedAdamW#memory()} and last step's bytes sent. */
    public static ParallelReport of(DataParallel dp) {
        ShardedAdamW opt = dp.optimizer();
        ShardedAdamW.Memory m = opt.memory();
        long[] mine = {m.weightBytes(), m.modelGradBytes(), m.gradBufferBytes(), m.optimizerBytes(), m.masterBytes(),
                m.shardElements(), opt.lastStepBytesSent()};
        long[] all = new long[FIELDS * dp.ranks()];
        dp.mpi().allGather(mine, 0, all, 0, FIELDS);
        long[][] per = new long[dp.ranks()][FIELDS];
        for (int r = 0; r < dp.ranks(); r++) {
            System.arraycopy(all, r * FIELDS, per[r], 0, FIELDS);
        }
        return new ParallelReport(opt.stage(), dp.ranks(), opt.parameters(), per);
    }

    /** Bytes of category {@code field} on {@code rank} (see the field order above). */
    long bytes(int rank, int field) {
        return perRank[rank][field];
    }

    /** The ZeRO formula of per-rank gradient bytes (FP32): 4Ψ, or 4Ψ/N at stage ≥ 2. */
    public static double gradientFormula(int stage, long psi, int ranks) {
        return stage >= 2 ? 4.0 * psi / ranks : 4.0 * psi;
    }

    /** The ZeRO formula of per-rank AdamW state bytes (m and v, FP32): 8Ψ, or 8Ψ/N at stage ≥ 1. */
    public static double optimizerFormula(int stage, long psi, int ranks) {
        return stage >= 1 ? 8.0 * psi / ranks : 8.0 * psi;
    }

    /** The ZeRO formula of per-rank FP32 master bytes: 4Ψ, or 4Ψ/N at stage ≥ 1. */
    public static double masterFormula(int stage, long psi, int ranks) {
        return stage >= 1 ? 4.0 * psi / ranks : 4.0 * psi;
    }

    /** The report as lines of text. */
    public String text() {
        StringBuilder b = new StringBuilder();
        String n = stage >= 1 ? "/N" : "";
        b.append(String.format(Locale.ROOT, "data parallel: %d ranks, ZeRO-%d, Ψ = %,d parameters; bytes per rank"
                + " (measured | formula, FP32)%n", ranks, stage, psi));
        b.append("  (the ledger above is rank 0's: its share of each batch; its optimizer state is the sharded one"
                + " below)\n");
        b.append(String.format(Locale.ROOT, "  %-5s %14s %14s %14s %14s %14s %16s%n", "rank", "weights", "model grads",
                "grad buffers", "AdamW m, v", "FP32 masters", "sent last step"));
        for (int r = 0; r < ranks; r++) {
            long[] v = perRank[r];
            b.append(String.format(Locale.ROOT, "  %-5d %,14d %,14d %,14d %,14d %,14d %,16d%n", r, v[0], v[1], v[2],
                    v[3], v[4], v[6]));
        }
        b.append(String.format(Locale.ROOT, "  %-5s %,14d %14s %14s %,14.0f %,14.0f %,16.0f%n", "ZeRO", 4 * psi, "",
                "", optimizerFormula(stage, psi, ranks), masterFormula(stage, psi, ranks),
                ShardedAdamW.trafficFormulaBytes(stage, psi, ranks)));
        b.append(String.format(Locale.ROOT, "  formulas: weights 4Ψ (FP32; a 16-bit run adds its working copies), gradients %s = %,.0f (model grads + the shard of the mean"
                        + " gradient in the buffers), AdamW 8Ψ%s, masters 4Ψ%s, sent 2·(N−1)/N·4Ψ (ring all-reduce,"
                        + " or reduce-scatter + all-gather; + a few bytes for the norm and the overflow flag)%n",
                stage >= 2 ? "4Ψ/N" : "4Ψ", gradientFormula(stage, psi, ranks), n, n));
        b.append(String.format(Locale.ROOT, "  model states per rank: ZeRO paper (FP32) 16Ψ → %,.0f; measured on rank"
                        + " 0 %,d (weights + model grads + buffers + m, v + masters)%n",
                ShardedAdamW.Memory.fp32Formula(stage, psi, ranks), perRank[0][0] + perRank[0][1] + perRank[0][2]
                        + perRank[0][3] + perRank[0][4]));
        return b.toString();
    }

    /** Prints {@link #text()} after a blank line. */
    public void print(PrintStream out) {
        out.println();
        out.print(text());
    }
}
