package dev.sixpd.nn;

import dev.sixpd.nn.layers.StepContext;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;

import java.util.Arrays;

/**
 * Autoregressive generation without a KV cache: each new token re-runs the whole forward pass over the last
 * {@code context} tokens and samples from the logits of the last position. Quadratic in the length, and fine for
 * the tiny models sixpd trains. The work is not charged to the ledger (it is switched off meanwhile), so a
 * training run's FLOP counts stay those of training.
 */
public final class Generator {
    private Generator() {
    }

    /**
     * The {@code n} tokens that follow {@code prompt} (at least one token), drawn with {@code sampler} and
     * {@code rng}. Uses batch row 0 of {@code model}'s buffers.
     */
    public static int[] generate(Gpt model, int[] prompt, int n, Sampler sampler, Rng rng) {
        return generate(model, StepContext.FP32, prompt, n, sampler, rng);
    }

    /** As {@link #generate(Gpt, int[], int, Sampler, Rng)}, with the forward passes' numerics {@code ctx}. */
    public static int[] generate(Gpt model, StepContext ctx, int[] prompt, int n, Sampler sampler, Rng rng) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt must hold at least one token");
        }
        int T = model.config.context();
        int V = model.config.vocab();
        int[] seq = Arrays.copyOf(prompt, prompt.length + n);
        int len = prompt.length;
        boolean ledger = Ledger.enabled();
        Ledger.setEnabled(false);
        try {
            for (int i = 0; i < n; i++) {
                // the model sees at most the last T tokens
                int from = Math.max(0, len - T);
                int t = len - from;
                int[] window = Arrays.copyOfRange(seq, from, len);
                model.forward(ctx, window, null, 1, t);
                seq[len++] = sampler.sample(model.logits(), (t - 1) * V, V, rng);
            }
        } finally {
            Ledger.setEnabled(ledger);
        }
        return Arrays.copyOfRange(seq, prompt.length, len);
    }
}
