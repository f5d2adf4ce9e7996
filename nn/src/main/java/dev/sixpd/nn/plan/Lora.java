package dev.sixpd.nn.plan;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.GptConfig.Mlp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * LoRA fine-tuning (Hu et al. 2021) as the planner sizes it: each targeted matrix W [out, in] of every block stays
 * frozen and gains a trainable low-rank update B·A, A [r, in] and B [out, r], so r·(in + out) adapter parameters per
 * targeted matrix per layer. Immutable.
 *
 * @param rank    r
 * @param targets the matrices of a block that get adapters (default q and v, as in the LoRA paper)
 */
public record Lora(int rank, List<Target> targets) {

    /** A block's matrices by their LLaMA names; for GPT-2 q, k, v are the row blocks of the fused c_attn. */
    public enum Target {
        /** query projection, C → NH·HS */
        Q,
        /** key projection, C → KVH·HS */
        K,
        /** value projection, C → KVH·HS */
        V,
        /** attention output projection, NH·HS → C */
        O,
        /** MLP up projection (GELU's c_fc), C → H */
        UP,
        /** SwiGLU's gate projection, C → H */
        GATE,
        /** MLP down projection (GELU's c_proj), H → C */
        DOWN;

        /** Input width of this matrix in {@code c}. */
        public int in(GptConfig c) {
            return switch (this) {
                case Q, K, V, UP, GATE -> c.dModel();
                case O -> c.heads() * c.headSize();
                case DOWN -> c.mlpHidden();
            };
        }

        /** Output width of this matrix in {@code c}. */
        public int out(GptConfig c) {
            return switch (this) {
                case Q -> c.heads() * c.headSize();
                case K, V -> c.kvHeads() * c.headSize();
                case O, DOWN -> c.dModel();
                case UP, GATE -> c.mlpHidden();
            };
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The LoRA paper's choice: the query and value projections. */
    public static final List<Target> DEFAULT_TARGETS = List.of(Target.Q, Target.V);

    public Lora {
        if (rank < 1) {
            throw new IllegalArgumentException("--lora-rank must be >= 1 (typical 4-64), got " + rank);
        }
        if (targets == null || targets.isEmpty()) {
            throw new IllegalArgumentException("--lora-targets needs at least one of q, k, v, o, up, gate, down");
        }
        targets = List.copyOf(targets);
    }

    /**
     * Rank {@code rank} on {@code spec}: {@code q,k,v,o,up,gate,down} in any order (repeats counted once), or
     * {@code all}, every matrix of {@code c}'s block (gate only with SwiGLU).
     */
    public static Lora of(int rank, String spec, GptConfig c) {
        List<Target> out = new ArrayList<>();
        for (String w : spec.split(",")) {
            String k = w.strip().toLowerCase(Locale.ROOT);
            if (k.equals("all")) {
                for (Target t : Target.values()) {
                    if (!out.contains(t) && (t != Target.GATE || c.mlp() == Mlp.SWIGLU)) {
                        out.add(t);
                    }
                }
                continue;
            }
            Target t = Arrays.stream(Target.values()).filter(x -> x.label().equals(k)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("--lora-targets: unknown matrix '" + w.strip()
                            + "': use q, k, v, o, up, gate, down (comma-separated) or all"));
            if (!out.contains(t)) {
                out.add(t);
            }
        }
        Lora l = new Lora(rank, out);
        l.check(c);
        return l;
    }

    /** Throws if a target does not exist in {@code c} (a gate in a GELU MLP). */
    public void check(GptConfig c) {
        if (c.mlp() == Mlp.GELU && targets.contains(Target.GATE)) {
            throw new IllegalArgumentException("--lora-targets gate: a GELU MLP has no gate projection (only up and"
                    + " down); use --mlp swiglu or leave gate out");
        }
    }

    /** r·Σ(in + out) over the targets: one block's adapter parameters. */
    public long adapterParamsPerLayer(GptConfig c) {
        long s = 0;
        for (Target t : targets) {
            s += (long) rank * (t.in(c) + t.out(c));
        }
        return s;
    }

    /** P_a = L·r·Σ(in + out). */
    public double adapterParams(GptConfig c) {
        return (double) c.layers() * adapterParamsPerLayer(c);
    }

    /** {@code q + v}: the targets' in + out sums, as named. */
    public String targetNames() {
        return String.join(", ", targets.stream().map(Target::label).toList());
    }

    /** {@code 32 × 8 × (8,192 + 8,192)}: L × r × (in + out of each target). */
    public String numbers(GptConfig c) {
        List<String> terms = new ArrayList<>();
        for (Target t : targets) {
            terms.add(Fmt.num(t.in(c) + t.out(c)));
        }
        return c.layers() + " × " + rank + " × (" + String.join(" + ", terms) + ")";
    }
}
