package dev.sixpd.optim;

import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import java.util.List;
import java.util.Locale;

/**
 * Loss scaling for FP16 training: the loss (in practice the gradient entering backward, {@code dlogits}) is
 * multiplied by {@link #scale()} so small gradients stay above FP16's underflow; {@link #unscaleAndCheck} divides
 * the FP32 gradients back and says whether the step may be applied.
 *
 * <p>Three modes:
 * <ul>
 *   <li>{@code none}: scale 1, unscaling is a no-op (still checks for Inf/NaN);
 *   <li>{@code static N}: fixed scale N; a step with Inf/NaN gradients is skipped (counted) and N kept;
 *   <li>{@code dynamic}: start at {@code initialScale} (2^16), multiply by {@code growthFactor} (2) after
 *       {@code growthInterval} (2000) consecutive finite steps, multiply by {@code backoffFactor} (0.5) and skip
 *       the step on Inf/NaN in any gradient, never below {@code minScale} (2^-24) — PyTorch GradScaler semantics.
 * </ul>
 * Usage per step: {@code dlogits *= scaler.scale(); backward; if (scaler.unscaleAndCheck(params)) optimizer.step(...)}.
 * Skipped steps are counted ({@link #skippedSteps()}). Not thread-safe.
 */
public final class LossScaler {
    /** The three modes. */
    public enum Mode { NONE, STATIC, DYNAMIC }

    private final Mode mode;
    private final float growthFactor;
    private final float backoffFactor;
    private final int growthInterval;
    private final float minScale;
    private float scale;
    private int cleanSteps;
    private long skippedSteps;

    private LossScaler(Mode mode, float scale, float growthFactor, float backoffFactor, int growthInterval,
            float minScale) {
        if (!(scale > 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("loss scale must be a positive finite number, got " + scale);
        }
        if (!(growthFactor >= 1) || !(backoffFactor > 0 && backoffFactor <= 1) || growthInterval < 1
                || !(minScale > 0)) {
            throw new IllegalArgumentException("dynamic loss scaling needs growth factor >= 1, backoff in (0, 1],"
                    + " growth interval >= 1 and min scale > 0; got growth=" + growthFactor + " backoff="
                    + backoffFactor + " interval=" + growthInterval + " min=" + minScale);
        }
        this.mode = mode;
        this.scale = scale;
        this.growthFactor = growthFactor;
        this.backoffFactor = backoffFactor;
        this.growthInterval = growthInterval;
        this.minScale = minScale;
    }

    /** No scaling. */
    public static LossScaler none() {
        return new LossScaler(Mode.NONE, 1f, 1f, 1f, 1, 1f);
    }

    /** A fixed scale. */
    public static LossScaler fixed(float scale) {
        return new LossScaler(Mode.STATIC, scale, 1f, 1f, 1, scale);
    }

    /** Dynamic scaling with the usual defaults: 2^16, ×2 after 2000 clean steps, ×0.5 on overflow, floor 2^-24. */
    public static LossScaler dynamic() {
        return dynamic(65536f, 2f, 0.5f, 2000, 0x1p-24f);
    }

    /** Dynamic scaling with every knob given. */
    public static LossScaler dynamic(float initialScale, float growthFactor, float backoffFactor, int growthInterval,
            float minScale) {
        return new LossScaler(Mode.DYNAMIC, initialScale, growthFactor, backoffFactor, growthInterval, minScale);
    }

    /** Parses {@code none}, {@code dynamic}, or a number N (e.g. {@code 1024}, {@code 65536}) for static N. */
    public static LossScaler parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("none")) {
            return none();
        }
        if (t.equals("dynamic")) {
            return dynamic();
        }
        try {
            return fixed(Float.parseFloat(t));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--loss-scale must be none, dynamic or a positive number, got '" + s
                    + "'");
        }
    }

    public Mode mode() {
        return mode;
    }

    /** The factor to multiply the loss (or its gradient) by before backward. */
    public float scale() {
        return scale;
    }

    /** Consecutive finite steps since the last overflow or growth (dynamic mode). */
    public int cleanSteps() {
        return cleanSteps;
    }

    /** Steps skipped because a gradient was Inf or NaN, in any mode. */
    public long skippedSteps() {
        return skippedSteps;
    }

    public float growthFactor() {
        return growthFactor;
    }

    public float backoffFactor() {
        return backoffFactor;
    }

    public int growthInterval() {
        return growthInterval;
    }

    public float minScale() {
        return minScale;
    }

    /**
     * Divides every gradient by the scale (skipped when the scale is 1), checks all of them for Inf/NaN, updates the
     * state ({@link #update}) and returns true if the step may be applied, false if it must be skipped. On false the
     * gradients are garbage: zero them before the next backward. Charged to {@code Ledger.Phase.OPTIMIZER}:
     * 1 FLOP per element for the division (as a multiply by 1/scale) and 1 for the finiteness check.
     */
    public boolean unscaleAndCheck(List<Param> params) {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            return unscaleAndCheckInPhase(params);
        } finally {
            Ledger.setPhase(old);
        }
    }

    private boolean unscaleAndCheckInPhase(List<Param> params) {
        float inv = 1f / scale;
        boolean finite = true;
        for (Param p : params) {
            float[] g = p.grad;
            int n = g.length;
            if (scale != 1f) {
                Ledger.add(Ledger.Kind.ELEMENTWISE, n, 8L * n);
                if (n >= SlotOptimizer.PARALLEL_MIN) {
                    Parallel.forRange(n, SlotOptimizer.GRAIN, (from, to) -> Grads.scale(g, from, to, inv));
                } else {
                    Grads.scale(g, 0, n, inv);
                }
            }
            Ledger.add(Ledger.Kind.ELEMENTWISE, n, 4L * n);
            if (finite && !Grads.allFinite(g, 0, n)) {
                finite = false;
            }
        }
        update(finite);
        return finite;
    }

    /**
     * Advances the state machine by one step whose gradients were {@code finite} or not: on overflow counts a
     * skipped step, and in dynamic mode multiplies the scale by the backoff factor (not below the minimum) and
     * restarts the clean count; otherwise counts a clean step and, in dynamic mode, grows the scale after
     * {@code growthInterval} of them (not above {@code Float.MAX_VALUE}).
     */
    public void update(boolean finite) {
        if (!finite) {
            skippedSteps++;
            cleanSteps = 0;
            if (mode == Mode.DYNAMIC) {
                scale = Math.max(minScale, scale * backoffFactor);
            }
            return;
        }
        if (mode != Mode.DYNAMIC) {
            return;
        }
        cleanSteps++;
        if (cleanSteps >= growthInterval) {
            float grown = scale * growthFactor;
            if (Float.isFinite(grown)) {
                scale = grown;
            }
            cleanSteps = 0;
        }
    }

    /** Restores state from a checkpoint (scale, clean-step count, skipped-step count). */
    public void restore(float scale, int cleanSteps, long skippedSteps) {
        if (!(scale > 0) || !Float.isFinite(scale) || cleanSteps < 0 || skippedSteps < 0) {
            throw new IllegalArgumentException("bad loss-scaler state: scale=" + scale + " clean=" + cleanSteps
                    + " skipped=" + skippedSteps);
        }
        if (mode != Mode.DYNAMIC && scale != this.scale) {
            throw new IllegalArgumentException("checkpoint loss scale " + scale + " differs from the " + mode
                    + " scale " + this.scale + " of this run");
        }
        this.scale = scale;
        this.cleanSteps = cleanSteps;
        this.skippedSteps = skippedSteps;
    }

    @Override
    public String toString() {
        return switch (mode) {
            case NONE -> "none";
            case STATIC -> "static " + scale;
            case DYNAMIC -> String.format(Locale.ROOT, "dynamic (scale %s, x%s after %d clean steps, x%s on overflow)",
                    scale, growthFactor, growthInterval, backoffFactor);
        };
    }
}
