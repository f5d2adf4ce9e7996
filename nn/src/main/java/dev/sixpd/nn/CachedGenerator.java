package dev.sixpd.nn;

import dev.sixpd.nn.layers.StepContext;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;

import java.util.Arrays;

/**
 * Autoregressive generation with a KV cache: the prompt is decoded one token at a time into the cache (a prefill
 * by {@link Gpt#decode}), then each new token costs one decode step, attention over the cached positions instead
 * of a forward over the whole sequence. Same tokens as {@link Generator} (greedy: token for token; the tests check
 * it).
 *
 * <p>At the context length: the cache holds {@code context} positions, so once the sequence is longer than that
 * the model must see a sliding window of the last {@code context} tokens, whose positions all shift by one at every
 * step (learned positions and RoPE angles change), and cached K/V rows no longer apply. From there on each token
 * falls back to {@link Generator}'s path: a full forward over the window. Time per token is flat up to the
 * context length and jumps to the cache-free cost after it.
 *
 * <p>Unlike {@link Generator}, the decode steps are charged to the ledger (phase FORWARD) if it is on: the caller
 * chooses; the sliding-window forwards past the context are not (the ledger is switched off for them).
 * Not thread-safe; uses row 0 of the model's buffers.
 */
public final class CachedGenerator {
    private CachedGenerator() {
    }

    /** The {@code n} tokens following {@code prompt} (at least one token), with a fresh contiguous cache. */
    public static int[] generate(Gpt model, StepContext ctx, int[] prompt, int n, Sampler sampler, Rng rng) {
        return generate(model, ctx, new KvCache(model.config), prompt, n, sampler, rng, null);
    }

    /**
     * As {@link #generate(Gpt, StepContext, int[], int, Sampler, Rng)} into {@code cache}; if {@code nanos} is
     * not null, {@code nanos[i]} receives the wall time of producing new token i (the decode step that computes its
     * logits and the draw), for a timing by position.
     */
    public static int[] generate(Gpt model, StepContext ctx, KvCache cache, int[] prompt, int n, Sampler sampler,
                                 Rng rng, long[] nanos) {
        check(prompt);
        int T = model.config.context();
        int V = model.config.vocab();
        int[] seq = Arrays.copyOf(prompt, prompt.length + n);
        // prefill: positions 0..len-2 into the cache; the last prompt token is decoded in the loop
        int len = prompt.length;
        int cached = 0;
        for (; cached < Math.min(len - 1, T); cached++) {
            model.decode(ctx, cache, seq[cached], cached);
        }
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            if (len <= T) {
                // one new position: seq[len-1] at position len-1 against the cache
                model.decode(ctx, cache, seq[len - 1], len - 1);
                seq[len] = sampler.sample(model.logits(), 0, V, rng);
            } else {
                // past the context: the sliding window of the last T tokens, recomputed (no cache), with the
                // ledger off as in Generator, so the ledger holds the decode steps only
                int[] window = Arrays.copyOfRange(seq, len - T, len);
                boolean on = Ledger.enabled();
                Ledger.setEnabled(false);
                try {
                    model.forward(ctx, window, null, 1, T);
                } finally {
                    Ledger.setEnabled(on);
                }
                seq[len] = sampler.sample(model.logits(), (T - 1) * V, V, rng);
            }
            len++;
            if (nanos != null) {
                nanos[i] = System.nanoTime() - t0;
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, len);
    }

    /**
     * N sequences at once through a paged cache: sequence s continues {@code prompts[s]} with {@code n} tokens
     * drawn with {@code rngs[s]}, stopping early at the context length (no sliding window here). After a prefill of
     * each prompt, every step decodes the newest token of all unfinished sequences together
     * ({@link Gpt#decodeBatch}: one GEMM per weight for all rows); a sequence that has finished releases its pages
     * to the pool at once.
     */
    public static int[][] generateBatch(Gpt model, StepContext ctx, PagedKvCache cache, int[][] prompts, int n,
                                        Sampler sampler, Rng[] rngs) {
        int S = prompts.length;
        int T = model.config.context();
        int V = model.config.vocab();
        int[][] seqs = new int[S][];
        int[] lens = new int[S];
        int[] cached = new int[S];
        int[] want = new int[S];
        for (int s = 0; s < S; s++) {
            check(prompts[s]);
            if (prompts[s].length > T) {
                throw new IllegalArgumentException("prompt " + s + " has " + prompts[s].length
                        + " tokens, more than the context " + T + ": shorten it");
            }
            seqs[s] = Arrays.copyOf(prompts[s], prompts[s].length + n);
            lens[s] = prompts[s].length;
            // a sequence ends after n tokens or when it fills the context (the cache holds T positions)
            want[s] = Math.min(prompts[s].length + n, T + 1);
        }
        // prefill: each prompt but its last token, one position at a time
        for (int s = 0; s < S; s++) {
            for (; cached[s] < lens[s] - 1; cached[s]++) {
                model.decode(ctx, cache, s, seqs[s][cached[s]], cached[s]);
            }
        }
        // then one step decodes the last token of every unfinished sequence together, one row each
        int[] rows = new int[S];
        int[] tokens = new int[S];
        int[] pos = new int[S];
        while (true) {
            int R = 0;
            for (int s = 0; s < S; s++) {
                if (lens[s] < want[s]) {
                    rows[R] = s;
                    tokens[R] = seqs[s][lens[s] - 1];
                    pos[R++] = lens[s] - 1;
                }
            }
            if (R == 0) {
                break;
            }
            model.decodeBatch(ctx, cache, rows, tokens, pos, R);
            for (int r = 0; r < R; r++) {
                int s = rows[r];
                seqs[s][lens[s]++] = sampler.sample(model.logits(), r * V, V, rngs[s]);
                if (lens[s] >= want[s]) {
                    // finished: its pages go back to the pool for the others
                    cache.release(s);
                }
            }
        }
        int[][] out = new int[S][];
        for (int s = 0; s < S; s++) {
            out[s] = Arrays.copyOfRange(seqs[s], prompts[s].length, lens[s]);
        }
        return out;
    }

    /**
     * FLOPs of one decode step at cache length {@code len} (the new position included), the matmuls only:
     * {@code 2·N} for the weights (N = {@link ModelSpec#matmulParameters()}, the LM head included) plus
     * {@code 4·L·len·NH·HS} for attention's q·k and p·v over the cached positions. The ledger adds the smaller
     * softmax, norm, RoPE and elementwise terms.
     */
    public static long decodeMatmulFlops(ModelSpec spec, int len) {
        GptConfig c = spec.config;
        return 2L * spec.matmulParameters() + 4L * c.layers() * len * c.heads() * c.headSize();
    }

    private static void check(int[] prompt) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt must hold at least one token");
        }
    }
}
