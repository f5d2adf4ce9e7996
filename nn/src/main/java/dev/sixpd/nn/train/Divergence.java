package dev.sixpd.nn.train;

import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.Checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * When training has diverged, and which checkpoint is still good.
 *
 * <p><b>The rule.</b> A step is good when its loss is finite, its gradient norm is finite, and its loss is at most
 * {@code 2·ln V + 3} nats. {@code ln V} is the loss of a model that knows nothing (uniform over the V tokens); a
 * run starts there and goes down. Twice that plus 3 nats (9.5 for V = 26, 15.5 for V = 512, 24.6 for GPT-2's
 * 50,257) is far above any spike of a healthy run yet catches an exploding one at its first exploding step
 * ({@code --lr 1e6}: a loss of 4e13).
 *
 * <p><b>The last good checkpoint.</b> The loss of step {@code s} is computed with the weights the update of step
 * {@code s - 1} produced, which are the weights a checkpoint at step {@code s - 1} holds. So when step {@code s} is
 * bad, the checkpoint at {@code s - 1} is bad too (its weights gave that loss), and the last good checkpoint is the
 * newest at a step {@code <= s - 2}. {@link #stop} rolls {@code --out} back to it ({@link Checkpoint#rollBack}),
 * deleting the bad ones, so that {@code --resume} and {@code sample} use it, and its message names its step.
 *
 * <p>Stateless apart from the threshold; not thread-safe only in that {@link #stop} writes {@code --out}.
 */
public final class Divergence {
    private final double limit;

    /** The rule for a model with {@code vocab} tokens. */
    public Divergence(int vocab) {
        limit = 2 * Math.log(vocab) + 3;
    }

    /** The largest good loss, nats. */
    public double limit() {
        return limit;
    }

    /** Null when a step with this loss and gradient norm (0 when not computed) is good; otherwise why it is not. */
    public String verdict(double loss, double gradNorm) {
        if (!Double.isFinite(loss)) {
            return "the loss is " + loss;
        }
        if (!Double.isFinite(gradNorm)) {
            return "the gradient norm is " + gradNorm;
        }
        if (loss > limit) {
            return String.format(Locale.ROOT, "the loss is %.4g, above 2·ln V + 3 = %.2f (the loss of a model that"
                    + " knows nothing is ln V)", loss, limit);
        }
        return null;
    }

    /**
     * Rolls {@code out} back to the last good checkpoint for a bad step {@code step} and returns the error to throw:
     * it names the step, the reason, the checkpoint kept and what to do.
     */
    public UserException stop(long step, String why, Path out, double lr) {
        long kept;
        String note = "";
        try {
            kept = Checkpoint.rollBack(out, step - 2);
        } catch (IOException | RuntimeException e) {
            kept = -2;
            note = " (could not remove the checkpoint of step " + (step - 1) + ": " + e.getMessage() + ")";
        }
        String where = kept >= 0 ? "the last good checkpoint (step " + kept + ") is kept in " + out
                : kept == -1 ? "no good checkpoint is left (one whose weights gave a good loss)"
                : "the checkpoints in " + out + " may hold the diverged weights" + note;
        return new UserException(String.format(Locale.ROOT,
                "training diverged at step %d: %s. Stopped; %s. Lower --lr (now %s) and train again%s", step, why,
                where, lr, kept >= 0 ? " or --resume " + out : ""));
    }
}
