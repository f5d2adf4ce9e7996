package dev.sixpd.nn.data;

import dev.sixpd.tensor.Rng;

/**
 * A tokenized corpus split into training and validation tokens, and the batches a language model trains on.
 *
 * <p>Split: the first {@code n − v} tokens train, the last {@code v = floor(n · validationFraction)} validate
 * (a contiguous tail, so no training window overlaps a validation window; deterministic, no randomness).
 *
 * <p>A batch is {@code B} windows of {@code T + 1} consecutive tokens: {@code inputs[b·T + t] = tok[s_b + t]},
 * {@code targets[b·T + t] = tok[s_b + t + 1]} for {@code t < T}, both {@code [B, T]} row-major. {@link #randomBatch}
 * draws each start {@code s_b} uniformly from {@code [0, n − T − 1]} with the caller's seeded {@link Rng}
 * ({@code rng.nextInt(n − T)} for b = 0, 1, ... in order), so the same seed gives the same batches.
 * {@link #sequentialBatch} gives fixed, evenly spaced windows for a validation loss that is comparable across
 * evaluations. Immutable (the token arrays are not copied out: do not modify them); thread-safe.
 */
public final class Dataset {
    /** Which part of the split. */
    public enum Split { TRAIN, VALIDATION }

    /** A batch of {@code [B, T]} inputs and next-token targets. */
    public record Batch(int[] inputs, int[] targets, int batch, int context) {
    }

    private final int[] train;
    private final int[] validation;
    private final int context;

    /**
     * Splits {@code tokens} and checks that both parts hold at least one window of {@code context + 1} tokens.
     *
     * @param validationFraction in [0, 1); 0 means no validation split (then {@link Split#VALIDATION} is an error)
     * @param context            the model's context length T (window = T + 1 tokens)
     */
    public Dataset(int[] tokens, double validationFraction, int context) {
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1), got " + validationFraction);
        }
        if (context < 1) {
            throw new IllegalArgumentException("context length must be >= 1, got " + context);
        }
        int n = tokens.length;
        int v = (int) Math.floor(n * validationFraction);
        this.train = java.util.Arrays.copyOfRange(tokens, 0, n - v);
        this.validation = java.util.Arrays.copyOfRange(tokens, n - v, n);
        this.context = context;
        check(train, "training", n, validationFraction);
        if (validationFraction > 0) {
            check(validation, "validation", n, validationFraction);
        }
    }

    private void check(int[] part, String what, int n, double f) {
        if (part.length < context + 1) {
            throw new IllegalArgumentException(String.format(
                    "the data is too short: its %s split has %,d tokens (of %,d, validation fraction %s) but one"
                            + " window needs context + 1 = %d; use more data (--data), a shorter context, or a"
                            + " tokenizer with fewer tokens per character",
                    what, part.length, n, f, context + 1));
        }
    }

    /** The training tokens. */
    public int[] train() {
        return train;
    }

    /** The validation tokens (empty with fraction 0). */
    public int[] validation() {
        return validation;
    }

    /** The context length T the windows are cut for. */
    public int context() {
        return context;
    }

    private int[] tokens(Split s) {
        if (s == Split.VALIDATION && validation.length == 0) {
            throw new IllegalStateException("this dataset has no validation split (fraction 0)");
        }
        return s == Split.TRAIN ? train : validation;
    }

    /** {@code B} windows at uniformly random starts (see the class comment). */
    public Batch randomBatch(Split split, int batch, Rng rng) {
        int[] tok = tokens(split);
        int[] in = new int[batch * context];
        int[] tg = new int[batch * context];
        for (int b = 0; b < batch; b++) {
            int s = rng.nextInt(tok.length - context);
            copyWindow(tok, s, in, tg, b);
        }
        return new Batch(in, tg, batch, context);
    }

    /**
     * Batch {@code index} of a fixed sequence of windows: window {@code k = index·B + b} starts at
     * {@code floor(k · stride)} modulo the number of starts, where stride spreads {@code windows} windows evenly
     * over the split. The same arguments always give the same batch.
     *
     * @param windows total windows of the evaluation ({@code >= 1}); batch indices run over {@code ceil(windows/B)}
     */
    public Batch sequentialBatch(Split split, int batch, int index, int windows) {
        int[] tok = tokens(split);
        int starts = tok.length - context; // valid starts: 0 .. starts-1
        double stride = Math.max(1.0, (double) starts / Math.max(1, windows));
        int[] in = new int[batch * context];
        int[] tg = new int[batch * context];
        for (int b = 0; b < batch; b++) {
            long k = (long) index * batch + b;
            int s = (int) ((long) Math.floor(k * stride) % starts);
            copyWindow(tok, s, in, tg, b);
        }
        return new Batch(in, tg, batch, context);
    }

    private void copyWindow(int[] tok, int s, int[] in, int[] tg, int b) {
        // inputs are tok[s .. s+T-1], targets the same shifted by one: tok[s+1 .. s+T]
        System.arraycopy(tok, s, in, b * context, context);
        System.arraycopy(tok, s + 1, tg, b * context, context);
    }
}
