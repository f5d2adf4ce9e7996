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
 * <p>The formulas are those of FP32 training (4 bytes of weight, 4 of gradient, 8 of AdamW m and v per parameter;
 * the weights are the masters) and, for a 16-bit run, of mixed precision (2 + 2 + 12: the FP32 masters, m and v are
 * the 12): 16Ψ, 8Ψ + 8Ψ/N or 4Ψ + 12Ψ/N, 4Ψ + 12Ψ/N or 2Ψ + 14Ψ/N, 16Ψ/N for stages 0 to 3. What sixpd holds beyond
 * them is named: in stages 0–2 the whole Param.data beside the optimizer's shard of masters (and in stages 0, 1
 * the whole Param.grad); in stages 2 and 3 the layers in flight — the gradient of the layer whose backward runs and
 * of the outside group (embeddings, final norm, head), the weights of the gathered layers (stage 3) — and the
 * staging bucket the collectives read and write.
 *
 * <p>Immutable once built; {@link #of} is a collective (every rank calls it; the all-gathered numbers are the same
 * on every rank), {@link #print} is local.
 */
public final class ParallelReport {
    private static final int FIELDS = 9;

    private final int stage;
    private final int ranks;
    private final long psi;
    private final boolean mixed;
    /**
     * [rank][weights, model grads, grad buffers, optimizer, masters, shard elements, bytes sent last step, bucket
     * bytes, bucket elements].
     */
    private final long[][] perRank;

    private ParallelReport(int stage, int ranks, long psi, boolean mixed, long[][] perRank) {
        this.stage = stage;
        this.ranks = ranks;
        this.psi = psi;
        this.mixed = mixed;
        this.perRank = perRank;
    }

    /**
     * Collective: gathers every rank's {@link ShardedAdamW#memory()} and last step's bytes sent.
     *
     * @param mixed whether the run is 16-bit (the mixed-precision formulas are printed beside the FP32 ones)
     */
    public static ParallelReport of(DataParallel dp, boolean mixed) {
        ShardedAdamW opt = dp.optimizer();
        ShardedAdamW.Memory m = opt.memory();
        long[] mine = {m.weightBytes(), m.modelGradBytes(), m.gradBufferBytes(), m.optimizerBytes(), m.masterBytes(),
                m.shardElements(), opt.lastStepBytesSent(), m.bucketBytes(), opt.bucketElements()};
        long[] all = new long[FIELDS * dp.ranks()];
        dp.mpi().allGather(mine, 0, all, 0, FIELDS);
        long[][] per = new long[dp.ranks()][FIELDS];
        for (int r = 0; r < dp.ranks(); r++) {
            System.arraycopy(all, r * FIELDS, per[r], 0, FIELDS);
        }
        return new ParallelReport(opt.stage(), dp.ranks(), opt.parameters(), mixed, per);
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

    /** The ZeRO formula of per-rank weight bytes (FP32, the weights every rank computes with): 4Ψ, 4Ψ/N at stage 3. */
    public static double weightFormula(int stage, long psi, int ranks) {
        return stage == 3 ? 4.0 * psi / ranks : 4.0 * psi;
    }

    /** The report as lines of text. */
    public String text() {
        StringBuilder b = new StringBuilder();
        long[] r0 = perRank[0];
        long shard = r0[5];
        long bucketBytes = r0[7];
        long bucket = r0[8];
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
        b.append(String.format(Locale.ROOT, "  %-5s %14s %14s %14s %,14.0f %,14.0f %,16.0f%n", "ZeRO",
                stage == 3 ? "(= masters)" : String.format(Locale.ROOT, "%,d", 4 * psi),
                stage >= 2 ? "" : String.format(Locale.ROOT, "%,d", 4 * psi),
                stage >= 2 ? String.format(Locale.ROOT, "%,.0f", gradientFormula(stage, psi, ranks)) : "",
                optimizerFormula(stage, psi, ranks), masterFormula(stage, psi, ranks),
                ShardedAdamW.trafficFormulaBytes(stage, psi, ranks)));
        long total = r0[0] + r0[1] + r0[2] + r0[3] + r0[4];
        if (stage >= 2) {
            long inFlight = r0[1] + (stage == 3 ? r0[0] : 0);
            b.append(String.format(Locale.ROOT, "  gradients: the shard of the mean gradient 4·S = %,d (4Ψ/N = %,.0f;"
                            + " S = %,d with each layer padded to a multiple of N)%s,%n             + the layers' gradients in"
                            + " flight %,d (the outside group's — embeddings, final norm, head: held through backward —"
                            + " and one block's),%n             + the bucket %,d ((N + 1)·%,d elements: one layer's gradient"
                            + " staged for the reduce-scatter, and what it receives); reduced layer by layer"
                            + " during backward%n", 4 * shard, gradientFormula(stage, psi, ranks), shard,
                    mixed ? String.format(Locale.ROOT, "; 16-bit values in 4-byte floats, 2·S = %,d as the paper"
                            + " counts them (2Ψ/N = %,.0f)", 2 * shard, 2.0 * psi / ranks) : "",
                    r0[1], bucketBytes, bucket));
            if (stage == 3) {
                b.append(String.format(Locale.ROOT, "  weights: between layers a rank keeps only its shard of the"
                        + " FP32 masters (4·S, the weights' formula 4Ψ/N = %,.0f);%n             the gathered layers in flight (the"
                        + " outside group and one block) take %,d%n", weightFormula(stage, psi, ranks), r0[0]));
            }
            b.append(String.format(Locale.ROOT, "  model states per rank: ZeRO paper (FP32) %s = %,.0f%s;%n             measured"
                            + " sharded 16·S = %,d (masters, m, v, gradient shard), + %,d in flight + %,d bucket"
                            + "%s = %,d%n", ShardedAdamW.Memory.fp32FormulaText(stage),
                    ShardedAdamW.Memory.fp32Formula(stage, psi, ranks),
                    mixed ? String.format(Locale.ROOT, ", mixed precision %,.0f",
                            ShardedAdamW.Memory.mixedPrecisionFormula(stage, psi, ranks)) : "",
                    16 * shard, inFlight, bucketBytes,
                    stage == 2 ? String.format(Locale.ROOT, " + whole weights %,d", r0[0]) : "", total));
        } else {
            b.append(String.format(Locale.ROOT, "  formulas: weights 4Ψ (FP32; a 16-bit run adds its working copies),"
                            + " gradients 4Ψ = %,.0f (model grads; the buffers hold the staging copy and the shard of the"
                            + " mean gradient), AdamW 8Ψ%s, masters 4Ψ%s%n", gradientFormula(stage, psi, ranks),
                    stage >= 1 ? "/N" : "", stage >= 1 ? "/N" : ""));
            b.append(String.format(Locale.ROOT, "  model states per rank: ZeRO paper (FP32) %s = %,.0f%s; measured on"
                            + " rank 0 %,d (weights + model grads + buffers + m, v + masters)%n",
                    ShardedAdamW.Memory.fp32FormulaText(stage), ShardedAdamW.Memory.fp32Formula(stage, psi, ranks), mixed ? String.format(Locale.ROOT,
                            ", mixed precision %,.0f", ShardedAdamW.Memory.mixedPrecisionFormula(stage, psi, ranks))
                            : "", total));
        }
        long sent = r0[6];
        double formula = ShardedAdamW.trafficFormulaBytes(stage, psi, ranks);
        b.append(String.format(Locale.ROOT, "  traffic: sent in the last step %,d = %s·(N−1)/N·4Ψ = %,.0f (%s)%n             + %,.0f"
                        + " (the loss's all-reduce, the norm's all-gather, the overflow flag; layer padding)%n", sent,
                stage == 3 ? "3" : "2", formula, switch (stage) {
                    case 0 -> "ring all-reduce";
                    case 1 -> "reduce-scatter + all-gather of the weights";
                    case 2 -> "reduce-scatter layer by layer in backward + all-gather of the weights";
                    default -> "all-gather of each layer's weights in forward and again in backward, reduce-scatter"
                            + " of its gradient";
                }, sent - formula));
        return b.toString();
    }
    /** Prints {@link #text()} after a blank line. */
    public void print(PrintStream out) {
        out.println();
        out.print(text());
    }
}
