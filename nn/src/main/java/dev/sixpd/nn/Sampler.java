package dev.sixpd.nn;

import dev.sixpd.tensor.Rng;

import java.util.Arrays;

/**
 * Turns next-token logits into a sampled token: temperature, then top-k, then top-p (nucleus), renormalise, draw.
 *
 * <p>Order, as in most samplers: (1) divide the logits by the temperature and softmax (in double); (2) keep the
 * {@code k} most probable tokens; (3) of those, keep the smallest set, most probable first, whose probability
 * (renormalised after step 2) reaches {@code p}; (4) renormalise what is left and draw with the seeded
 * {@link Rng}. Ties are broken by the lower token id, so the result is deterministic. A temperature of 0 means
 * greedy (argmax); {@code topK <= 0} or {@code >= V} and {@code topP >= 1} switch those filters off.
 *
 * <p>Stateless and thread-safe; the {@link Rng} passed in is not.
 */
public final class Sampler {
    private final double temperature;
    private final int topK;
    private final double topP;

    public Sampler(double temperature, int topK, double topP) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0 (0 = greedy), got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
    }

    /**
     * The filtered, renormalised distribution over {@code V} tokens for {@code logits[off .. off+V)}: zero for every
     * token removed by top-k or top-p, summing to 1. With temperature 0, all mass on the argmax.
     */
    public double[] probabilities(float[] logits, int off, int V) {
        double[] p = new double[V];
        if (V == 0) {
            return p;
        }
        for (int i = 0; i < V; i++) {
            if (!Float.isFinite(logits[off + i])) {
                throw new UserException("the model's logits hold " + logits[off + i] + " (token " + i + "): its"
                        + " weights are not finite numbers, as after a diverged run; sample from a checkpoint of a run"
                        + " that did not diverge");
            }
        }
        if (temperature == 0) {
            int best = 0;
            for (int i = 1; i < V; i++) {
                if (logits[off + i] > logits[off + best]) {
                    best = i;
                }
            }
            p[best] = 1;
            return p;
        }
        // softmax(logits / temperature) as exp((logit - max) / temperature): the exponent is <= 0 and never NaN,
        // even when a tiny temperature (1e-310) would make logit / temperature overflow
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < V; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < V; i++) {
            p[i] = Math.exp((logits[off + i] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < V; i++) {
            p[i] /= sum;
        }
        // token ids sorted by probability, most probable first, lower id first on ties
        Integer[] order = new Integer[V];
        for (int i = 0; i < V; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int keep = topK > 0 && topK < V ? topK : V;
        // top-p on the top-k survivors, renormalised: smallest prefix whose mass reaches topP
        if (topP < 1) {
            double kept = 0;
            for (int r = 0; r < keep; r++) {
                kept += p[order[r]];
            }
            double cum = 0;
            int n = 0;
            while (n < keep) {
                cum += p[order[n]] / kept;
                n++;
                if (cum >= topP) {
                    break;
                }
            }
            keep = n;
        }
        double[] q = new double[V];
        double mass = 0;
        for (int r = 0; r < keep; r++) {
            mass += p[order[r]];
        }
        for (int r = 0; r < keep; r++) {
            q[order[r]] = p[order[r]] / mass;
        }
        return q;
    }

    /** Draws a token id from {@code probs} (summing to 1) with one {@code rng.nextDouble()}. */
    public static int draw(double[] probs, Rng rng) {
        double u = rng.nextDouble();
        double cum = 0;
        int last = -1;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > 0) {
                cum += probs[i];
                last = i;
                if (u < cum) {
                    return i;
                }
            }
        }
        return last; // rounding left u above the total: the last token that had mass
    }

    /** {@link #probabilities} then {@link #draw}. */
    public int sample(float[] logits, int off, int V, Rng rng) {
        return draw(probabilities(logits, off, V), rng);
    }

    @Override
    public String toString() {
        return "temperature " + temperature + ", top-k " + (topK > 0 ? topK : "off") + ", top-p " + topP;
    }
}
