package dev.sixpd.optim;

import java.util.Locale;

/**
 * Learning rate by step: linear warm-up from {@code maxLr/warmup} to {@code maxLr} over the first
 * {@code warmupSteps} steps, then cosine decay to {@code minLr} at {@code totalSteps}, and {@code minLr} after.
 * Steps are 0-based (the first update is step 0), as in llm.c:
 * <pre>
 *   step &lt; warmup:          lr = maxLr · (step + 1) / warmup
 *   warmup ≤ step &lt; total:  r = (step − warmup) / (total − warmup),  lr = minLr + ½(1 + cos πr)(maxLr − minLr)
 *   step ≥ total:           lr = minLr
 * </pre>
 * Immutable, thread-safe.
 */
public record LrSchedule(double maxLr, double minLr, long warmupSteps, long totalSteps) {
    public LrSchedule {
        if (!(maxLr > 0) || !Double.isFinite(maxLr)) {
            throw new IllegalArgumentException("learning rate must be > 0 and finite, got " + maxLr);
        }
        if (!(minLr >= 0) || minLr > maxLr) {
            throw new IllegalArgumentException("minimum learning rate must be in [0, " + maxLr + "], got " + minLr);
        }
        if (warmupSteps < 0 || totalSteps < 1 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("need 0 <= warmup <= total steps and total >= 1, got warmup="
                    + warmupSteps + " total=" + totalSteps);
        }
    }

    /** A constant learning rate. */
    public static LrSchedule constant(double lr) {
        return new LrSchedule(lr, lr, 0, 1);
    }

    /** The learning rate for 0-based step {@code step}. */
    public double lr(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (step < warmupSteps) {
            return maxLr * (step + 1) / warmupSteps;
        }
        if (step >= totalSteps) {
            return minLr;
        }
        double r = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
        return minLr + 0.5 * (1.0 + Math.cos(Math.PI * r)) * (maxLr - minLr);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "warmup %d steps to %.3g, cosine to %.3g at step %d", warmupSteps, maxLr,
                minLr, totalSteps);
    }
}
